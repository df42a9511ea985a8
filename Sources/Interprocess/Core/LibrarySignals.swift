import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// Every signal disposition the library sets, installed here and only here.
///
/// | Signal | What the library installs | When | Chains to the program's handler |
/// |---|---|---|---|
/// | `SIGPIPE` | ignored (`SIG_IGN`), so writes with no reader fail with `EPIPE` (SPEC S1) | first pipe, FIFO, socket or spawn | a handler or `SIG_IGN` already there is left alone |
/// | `SIGURG` (`interrupt`) | a handler that does nothing, `SA_SIGINFO`, no `SA_RESTART`, so a library thread blocked in a system call returns `EINTR` when the library sends it the signal with `pthread_kill` | first interruptible wait | yes: a `SIGURG` the library did not send (not a `tgkill` from this process to a library thread expecting it) goes to the action that was in place before |
/// | `SIGBUS` | the guard of `MappingFaultGuard` (SPEC H1): a fault inside the library's own mappings is repaired | first mapping | yes: a `SIGBUS` anywhere else goes to the action in place before, or gets the default action |
/// | each signal a `SignalStream` watches | a handler that passes the signal to the streams (`SignalCenter`; SA_SIGINFO, SA_RESTART), and the signal blocked in the thread that made the stream | the first stream of that number | yes: after the streams have it; the default action only while no stream watches it (`Signals/README.md`) |
///
/// Each is installed once (`sigaction`, under a lock, from any thread). A handler the
/// program installs *after* the library's replaces it: for `SIGURG` the library's
/// waits then end only at their deadline or when the awaited event happens.
///
/// Library threads (`LibraryThread`) run with every signal blocked except the
/// synchronous fault signals; `interrupt` is unblocked only around a wait that can
/// be interrupted, so a signal the program expects (through `sigwait`, `signalfd` or a
/// handler on its own threads) is never taken by a library thread. Spawned children
/// get the default dispositions back (`POSIX_SPAWN_SETSIGDEF`).
public enum LibrarySignals {
    /// The signal the library sends a library thread with `pthread_kill` to interrupt
    /// a blocked system call: `SIGURG`, whose default action is to ignore it.
    public static let interrupt: CInt = SIGURG

    // MARK: SIGPIPE

    private static let brokenPipeIgnored: Void = {
        var current = sigaction()
        guard system_sigaction(SIGPIPE, nil, &current) == 0 else { return }
        let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
        if handler == 0 /* SIG_DFL */ {
            var ignore = sigaction()
            ignore.__sigaction_handler.sa_handler = SIG_IGN
            sigemptyset(&ignore.sa_mask)
            _ = system_sigaction(SIGPIPE, &ignore, nil)  // only EINVAL for a bad signal: cannot fail
        }
    }()

    /// Makes writes to a pipe, FIFO or socket with no reader left fail with `EPIPE`
    /// instead of killing the process with `SIGPIPE` (SPEC S1): sets `SIGPIPE` to
    /// `SIG_IGN`, once, only if its disposition is still `SIG_DFL`.
    @inline(__always)
    static func ignoreBrokenPipe() { _ = brokenPipeIgnored }

    // MARK: SIGURG

    private static let interruptInstalled: Bool = cipc_interrupt_handler_install(interrupt) == 0

    /// Installs, once, the handler for `interrupt` (see the type's table); false when
    /// `sigaction` failed, and then waits cannot be interrupted by a signal.
    static var interruptsWork: Bool { interruptInstalled }

    /// Lets `interrupt` through to the calling thread until `endInterruptibleWait`:
    /// marks the thread as expecting it, then unblocks it (`pthread_sigmask`).
    /// Returns the mask to restore.
    static func beginInterruptibleWait() -> sigset_t {
        _ = interruptInstalled
        cipc_interrupt_expected(1)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, interrupt)
        var previous = sigset_t()
        _ = system_pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)  // fails only for a bad `how`
        return previous
    }

    /// Restores the mask saved by `beginInterruptibleWait`, then clears the mark (in
    /// that order, so a signal the library sent is never mistaken for the program's).
    static func endInterruptibleWait(restoring previous: sigset_t) {
        var previous = previous
        _ = system_pthread_sigmask(SIG_SETMASK, &previous, nil)
        cipc_interrupt_expected(0)
    }

    /// How many `interrupt` signals were passed on to the program's own action.
    static var interruptsForwarded: UInt64 { cipc_interrupt_forwarded() }

    // MARK: SIGBUS

    private static let mappingFaultGuardInstalled: Bool = cipc_mapping_guard_install() == 0

    /// Installs, once, the `SIGBUS` guard of `MappingFaultGuard` (its handler and
    /// registry are in shim_memory.c); false when `sigaction` failed.
    static func installMappingFaultGuard() -> Bool { mappingFaultGuardInstalled }
}
