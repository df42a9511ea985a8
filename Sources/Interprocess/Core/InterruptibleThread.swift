import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The thread running a blocking call that has no descriptor to poll — a
/// semaphore wait, System V `msgrcv`/`msgsnd`/`semop` — and the way to stop it
/// (DESIGN, API principle 3).
///
/// Stopping sends the thread `LibrarySignals.interrupt` (SIGURG) with
/// `pthread_kill`. The library's handler for it (installed by `LibrarySignals`)
/// does nothing and is installed without `SA_RESTART`, so the call
/// returns `EINTR` and the thread's loop sees `isStopped`. (System V calls are
/// never restarted anyway; `sem_wait` would be without this.) The thread is
/// signalled only between `enter` and `leave`, under the lock, so a signal never
/// reaches a thread that has moved on. `BlockingCall` calls `stop` again, with a
/// growing pause, until the call has returned, so a signal that lands just
/// before the thread blocks is not lost.
///
/// A `SIGURG` handler the program had before is kept: the library's handler
/// passes it every `SIGURG` the library did not send. `signalsWork` is false only
/// when the handler could not be installed; callers then wait in short slices,
/// checking `isStopped` between them.
///
/// ```swift
/// let thread = InterruptibleThread()
/// let outcome = try await BlockingCall.run {
///     thread.enter(); defer { thread.leave() }
///     while !thread.isStopped { if blockingCall() != -1 || errno != EINTR { break } }
/// } interrupt: {
///     thread.stop()
/// }
/// ```
final class InterruptibleThread: Sendable {
    static let signal = LibrarySignals.interrupt
    static var signalsWork: Bool { LibrarySignals.interruptsWork }

    private struct State: @unchecked Sendable {
        var thread: pthread_t?
        var previousMask = sigset_t()
        var stopped = false
    }

    private let state = Mutex(State())
    /// Whether `stop` sends the signal (tests turn it off to exercise the slices).
    let signalling: Bool

    init(signalling: Bool = InterruptibleThread.signalsWork) {
        self.signalling = signalling
    }

    /// Called on the blocking thread before the call: lets the signal through
    /// to this thread until `leave`.
    func enter() {
        let previous = LibrarySignals.beginInterruptibleWait()
        state.withLock {
            $0.thread = pthread_self()
            $0.previousMask = previous
        }
    }

    /// Called on the blocking thread after the call: restores its signal mask.
    func leave() {
        let previous = state.withLock { s in
            s.thread = nil
            return s.previousMask
        }
        LibrarySignals.endInterruptibleWait(restoring: previous)
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Marks the call stopped and, while the thread is inside the call, signals it.
    func stop() {
        state.withLock { s in
            s.stopped = true
            if signalling, let thread = s.thread { pthread_kill(thread, Self.signal) }
        }
    }
}
