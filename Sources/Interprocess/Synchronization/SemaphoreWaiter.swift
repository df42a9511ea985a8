import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The async form of a semaphore wait (DESIGN, API principle 3).
///
/// A semaphore has no descriptor to poll, so the wait runs `sem_wait` (or
/// `sem_clockwait` for a deadline) on a thread of the library's own, never on a
/// thread of the cooperative pool. Cancelling the task sends that thread
/// `SIGURG` with `pthread_kill`; the library's handler for it does nothing and is
/// installed without `SA_RESTART`, so `sem_wait` returns `EINTR` and the thread
/// sees the cancellation. The signal is sent again, with a growing pause, until
/// the thread has returned: one sent just before the thread blocked is not lost.
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

    /// - Parameter interrupts: whether to interrupt with the signal (tests turn it
    ///   off to exercise the fallback).
    static func wait(_ operations: SemaphoreOperations, until deadline: Deadline, interrupts: Bool = interruptsWork) async throws -> Bool {
        let call = Call(operations, deadline: deadline, interrupts: interrupts)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                call.start(continuation)
            }
        } onCancel: {
            call.cancel()
        }
    }

    final class Call: Sendable {
        private struct State {
            var thread: pthread_t?
            var cancelled = false
            var finished = false
            var interrupting = false
        }

        private let state = Mutex(State())
        private let operations: SemaphoreOperations
        private let deadline: Deadline
        private let interrupts: Bool

        init(_ operations: SemaphoreOperations, deadline: Deadline, interrupts: Bool) {
            self.operations = operations
            self.deadline = deadline
            self.interrupts = interrupts
        }

        func start(_ continuation: CheckedContinuation<Bool, any Error>) {
            let code = startThread { self.run(continuation) }
            if code != 0 {
                continuation.resume(throwing: IPCError(Errno(rawValue: code), operation: "pthread_create", object: operations.object,
                                                       detail: "no thread for an async semaphore wait"))
            }
        }

        /// The waiting thread.
        private func run(_ continuation: CheckedContinuation<Bool, any Error>) {
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, SemaphoreWaiter.interruptSignal)
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            state.withLock { $0.thread = pthread_self() }
            let key = UInt(bitPattern: operations.semaphore)
            SemaphoreWaiter.waiting.withLock { $0[key, default: 0] += 1 }

            let result: Result<Bool, any Error>
            while true {
                if state.withLock({ $0.cancelled }) {
                    result = .failure(CancellationError())
                    break
                }
                var limit = deadline
                if !interrupts {
                    limit = min(deadline, Deadline(nanoseconds: Deadline.now.nanoseconds &+ SemaphoreWaiter.fallbackSlice))
                }
                let rc: CInt
                if limit == .distantFuture {
                    rc = system_sem_wait(operations.semaphore)
                } else {
                    var at = limit.absoluteTimespec
                    rc = system_sem_clockwait(operations.semaphore, &at)
                }
                if rc == 0 {
                    result = .success(true)
                    break
                }
                let code = Glibc.errno
                if code == EINTR { continue }
                if code == ETIMEDOUT {
                    if deadline.hasPassed {
                        result = .success(false)
                        break
                    }
                    continue
                }
                result = .failure(IPCError(Errno(rawValue: code), operation: limit == .distantFuture ? "sem_wait" : "sem_clockwait",
                                           object: operations.object))
                break
            }
            SemaphoreWaiter.waiting.withLock { table in
                table[key, default: 1] -= 1
                if table[key] == 0 { table[key] = nil }
            }
            state.withLock { $0.finished = true }
            continuation.resume(with: result)
        }

        func cancel() {
            let interrupt = state.withLock { s -> Bool in
                s.cancelled = true
                if s.finished || s.interrupting || !interrupts { return false }
                s.interrupting = true
                return true
            }
            guard interrupt else { return }
            if startThread({ self.interruptUntilFinished() }) != 0 {
                // No thread for the repeats: interrupt once from here.
                state.withLock { s in
                    if !s.finished, let thread = s.thread { pthread_kill(thread, SemaphoreWaiter.interruptSignal) }
                }
            }
        }

        /// Signals the waiting thread until it has finished. The thread marks itself
        /// finished under the lock before it exits, so it is alive when signalled.
        private func interruptUntilFinished() {
            var pause: UInt64 = 1_000_000
            while true {
                let done = state.withLock { s -> Bool in
                    if s.finished { return true }
                    if let thread = s.thread { pthread_kill(thread, SemaphoreWaiter.interruptSignal) }
                    return false
                }
                if done { return }
                var interval = timespec(tv_sec: 0, tv_nsec: Int(pause))
                nanosleep(&interval, nil)
                pause = min(pause * 2, 100_000_000)
            }
        }
    }
}

/// A closure to run on a new thread.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Starts a detached thread running `body`; returns 0 or the error number.
private func startThread(_ body: @escaping () -> Void) -> CInt {
    var thread = pthread_t()
    let box = Unmanaged.passRetained(ThreadBody(body))
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, box.toOpaque())
    if rc != 0 {
        box.release()
        return rc
    }
    pthread_detach(thread)
    return 0
}
