import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The async form of a semaphore wait (DESIGN, API principle 3).
///
/// A semaphore has no descriptor to poll, so the wait runs `sem_wait` (or
/// `sem_clockwait` for a deadline) as a `BlockingCall`, on a thread of the
/// library's own, never on a thread of the cooperative pool. Cancelling the task
/// sends that thread `SIGURG` with `pthread_kill`; the library's handler for it
/// does nothing and is installed without `SA_RESTART`, so `sem_wait` returns
/// `EINTR` and the thread sees the cancellation. `BlockingCall` sends it again,
/// with a growing pause, until the thread has returned, so a signal that lands
/// just before the thread blocks is not lost.
///
/// The handler is installed, once, only if `SIGURG` still has its default action
/// (ignore). If the program has its own `SIGURG` handler, the thread waits in
/// slices of 50 ms instead and notices the cancellation at the end of a slice.
///
/// A wait that obtained the semaphore as the task was being cancelled returns
/// normally: the decrement happened and is not lost.
enum SemaphoreWaiter {
    static let interruptSignal = SIGURG
    static let interruptsWork: Bool = cipc_install_interrupt_handler(SIGURG) == 1
    /// Without the interrupt signal: how long one `sem_clockwait` may block.
    static let fallbackSlice: UInt64 = 50_000_000

    /// Semaphores with a waiting thread, and how many (for tests that must cancel
    /// a wait that has really started).
    private static let waiting = Mutex<[UInt: Int]>([:])

    static func hasWaiter(on semaphore: UnsafeMutablePointer<sem_t>) -> Bool {
        waiting.withLock { $0[UInt(bitPattern: semaphore), default: 0] > 0 }
    }

    private enum WaitResult: Sendable {
        case acquired
        case timedOut
        case cancelled
        case failed(IPCError)
    }

    /// - Parameter interrupts: whether to interrupt with the signal (tests turn it
    ///   off to exercise the fallback).
    static func wait(_ operations: SemaphoreOperations, until deadline: Deadline, interrupts: Bool = interruptsWork) async throws -> Bool {
        let thread = WaitingThread()
        let outcome = try await BlockingCall.run {
            thread.enter()
            let key = UInt(bitPattern: operations.semaphore)
            waiting.withLock { $0[key, default: 0] += 1 }
            let result = waitLoop(operations, until: deadline, interrupts: interrupts, thread: thread)
            waiting.withLock { table in
                table[key, default: 1] -= 1
                if table[key] == 0 { table[key] = nil }
            }
            thread.leave()
            return result
        } interrupt: {
            thread.stop(signalling: interrupts)
        }
        switch outcome.value {
        case .acquired: return true
        case .timedOut: return false
        case .cancelled: throw CancellationError()
        case .failed(let error): throw error
        }
    }

    /// The waiting thread's loop: EINTR from the interrupt signal ends it once the
    /// call is being stopped; any other EINTR is retried.
    private static func waitLoop(_ operations: SemaphoreOperations, until deadline: Deadline, interrupts: Bool, thread: WaitingThread) -> WaitResult {
        while true {
            if thread.isStopped { return .cancelled }
            var limit = deadline
            if !interrupts {
                limit = min(deadline, Deadline(nanoseconds: Deadline.now.nanoseconds &+ fallbackSlice))
            }
            let rc: CInt
            if limit == .distantFuture {
                rc = system_sem_wait(operations.semaphore)
            } else {
                var at = limit.absoluteTimespec
                rc = system_sem_clockwait(operations.semaphore, &at)
            }
            if rc == 0 { return .acquired }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == ETIMEDOUT {
                if deadline.hasPassed { return .timedOut }
                continue
            }
            return .failed(IPCError(Errno(rawValue: code), operation: limit == .distantFuture ? "sem_wait" : "sem_clockwait",
                                    object: operations.object))
        }
    }

    /// The thread blocked in the wait, and whether the call is being stopped. The
    /// thread is signalled only between `enter` and `leave`, under the lock, so a
    /// signal never reaches a thread that has moved on.
    private final class WaitingThread: Sendable {
        private struct State {
            var thread: pthread_t?
            var stopped = false
        }

        private let state = Mutex(State())

        func enter() {
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, SemaphoreWaiter.interruptSignal)
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            state.withLock { $0.thread = pthread_self() }
        }

        func leave() {
            state.withLock { $0.thread = nil }
        }

        var isStopped: Bool { state.withLock { $0.stopped } }

        func stop(signalling: Bool) {
            state.withLock { s in
                s.stopped = true
                if signalling, let thread = s.thread { pthread_kill(thread, SemaphoreWaiter.interruptSignal) }
            }
        }
    }
}
