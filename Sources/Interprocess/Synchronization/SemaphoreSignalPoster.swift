import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Posts a named semaphore from a signal handler each time a signal arrives
/// (SPEC Y1: "post is safe from a signal handler").
///
/// `sem_post` is async-signal-safe — one of the few synchronization calls a signal
/// handler may make — so a handler can wake a thread or another process that waits
/// on the semaphore. Swift code cannot safely run in a signal handler, so the
/// library installs a small C handler that only calls `sem_post` on the semaphore
/// this value holds. The poster owns the semaphore, so it stays open as long as
/// the handler can post it; when the poster goes away, the previous action of the
/// signal is restored and the semaphore closed.
///
/// Installing a handler changes the whole process: one poster per signal at a time
/// (`EBUSY` for a second).
///
/// ```swift
/// let poster = try SemaphoreSignalPoster(signal: SIGUSR1, posting: PosixSemaphore.open("/wake"))
/// // any process: kill(pid, SIGUSR1) → a waiter on "/wake" wakes
/// ```
public struct SemaphoreSignalPoster: ~Copyable {
    /// The semaphore the handler posts.
    public let semaphore: PosixSemaphore
    /// The signal whose arrival posts it.
    public let signal: CInt

    /// Installs the handler. The corresponding C function is `sigaction`.
    public init(signal: CInt, posting semaphore: consuming PosixSemaphore) throws(IPCError) {
        if cipc_post_on_signal(signal, semaphore.operations.semaphore) != 0 {
            throw IPCError.last("sigaction", object: "signal \(signal)", detail: "to post \(semaphore.name) when it arrives")
        }
        self.semaphore = semaphore
        self.signal = signal
    }

    deinit {
        _ = cipc_stop_post_on_signal(signal)
    }
}
