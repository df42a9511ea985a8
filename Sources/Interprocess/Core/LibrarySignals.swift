import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Stand-in for helper A2's `LibrarySignals` (branch a2-threads), with the same
// names; replaced by A2's file at the merge.
public enum LibrarySignals {
    public static let interrupt: CInt = SIGURG

    private static let interruptInstalled: Bool = cipc_install_interrupt_handler(interrupt) == 1

    static var interruptsWork: Bool { interruptInstalled }

    static func beginInterruptibleWait() -> sigset_t {
        _ = interruptInstalled
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, interrupt)
        var previous = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)
        return previous
    }

    static func endInterruptibleWait(restoring previous: sigset_t) {
        var previous = previous
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
