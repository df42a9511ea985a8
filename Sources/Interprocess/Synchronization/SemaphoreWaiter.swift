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
/// stops that thread as `InterruptibleThread` describes (a `SIGURG` that makes
/// `sem_wait` return `EINTR`). If the program has its own `SIGURG` handler, the
/// thread waits in slices of 50 ms instead and notices the cancellation at the
/// end of a slice.
///
/// A wait that obtained the semaphore as the task was being cancelled returns
/// normally: the decrement happened and is not lost.
enum SemaphoreWaiter {
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
    static func wait(_ operations: SemaphoreOperations, until deadline: Deadline, interrupts: Bool = InterruptibleThread.signalsWork) async throws -> Bool {
        let thread = InterruptibleThread(signalling: interrupts)
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
            thread.stop()
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
    private static func waitLoop(_ operations: SemaphoreOperations, until deadline: Deadline, interrupts: Bool, thread: InterruptibleThread) -> WaitResult {
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
            return .failed(operations.failure(limit == .distantFuture ? "sem_wait" : "sem_clockwait", code: code))
        }
    }
}
