import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs a blocking call that cannot be waited on with `poll` — a FIFO open, a
/// System V `semop`/`msgrcv`, `fcntl(F_SETLKW)` — so that it can be time-bounded
/// and awaited, and ends promptly on task cancellation (DESIGN, API principle 3).
///
/// The async form runs the call on a thread of the library's own (never a thread
/// of the cooperative pool). When the task is cancelled, or the deadline passes,
/// the library calls `interrupt` from another thread; `interrupt` must make the
/// call return (for a FIFO open: open the other side; for System V: a signal or
/// removing the object). An interrupt can land before the call has started to
/// block, so `interrupt` is called again, with a growing pause (1 ms up to
/// 100 ms), until the call returns; it must be safe to call repeatedly.
///
/// The call always runs to its end and its result is always returned, together
/// with the reason it was interrupted, if it was: the caller decides what a result
/// obtained after an interruption means (close a descriptor it no longer wants,
/// or keep a semaphore decrement that did happen). No thread is left behind and
/// `interrupt` is never running once `run` has returned.
///
/// ```swift
/// let outcome = try await BlockingCall.run(until: .after(.seconds(1))) {
///     openTheFIFO()            // blocks until a partner opens the other side
/// } interrupt: {
///     openTheOtherSide()       // makes it return
/// }
/// if outcome.interruption != nil { … }
/// ```
public enum BlockingCall {
    /// Thread ids of the workers running a call now, so a test can check in
    /// /proc that a call has really started blocking before it interrupts it.
    static let workers = Mutex<Set<pid_t>>([])

    /// Why a call was interrupted.
    public enum Interruption: Sendable, Equatable {
        /// The awaiting task was cancelled.
        case cancelled
        /// The deadline passed.
        case timedOut
    }

    /// What a blocking call returned, and whether it was interrupted first.
    public struct Outcome<Value> {
        public var value: Value
        /// nil when the call returned on its own, before any interrupt.
        public var interruption: Interruption?
    }

    /// Runs `body` on a thread of the library's own and suspends the task until it
    /// returns. On cancellation, or once `deadline` passes, `interrupt` is called
    /// until `body` returns. Throws only when no thread could be started.
    public static func run<Value: Sendable>(
        until deadline: Deadline = .distantFuture,
        _ body: @escaping @Sendable () -> Value,
        interrupt: @escaping @Sendable () -> Void
    ) async throws(IPCError) -> Outcome<Value> {
        let call = Call<Value>(deadline: deadline, interrupt: interrupt)
        let result: Result<Outcome<Value>, IPCError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                call.start(body, continuation)
            }
        } onCancel: {
            call.interrupt(because: .cancelled)
        }
        return try result.get()
    }

    /// Runs `body` on the calling thread; once `deadline` passes, `interrupt` is
    /// called from another thread until `body` returns.
    public static func run<Value>(
        until deadline: Deadline,
        _ body: () -> Value,
        interrupt: @escaping @Sendable () -> Void
    ) throws(IPCError) -> Outcome<Value> {
        if deadline == .distantFuture { return Outcome(value: body(), interruption: nil) }
        let call = Call<Void>(deadline: deadline, interrupt: interrupt)
        try call.startWatchdog()
        let value = body()
        let interruption = call.finishOnCallingThread()
        return Outcome(value: value, interruption: interruption)
    }
}

extension BlockingCall {
    /// The shared state of one call: the worker (async form), the watchdog that
    /// calls `interrupt`, and who finished first. Guarded by a pthread mutex with a
    /// condition on the monotonic clock, so the watchdog can wait for the deadline.
    final class Call<Value: Sendable>: @unchecked Sendable {
        private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private let deadline: Deadline
        private let interruptBody: @Sendable () -> Void

        // Guarded by `lock`.
        private var done = false
        private var interruption: Interruption?
        private var watchdog: pthread_t?

        init(deadline: Deadline, interrupt: @escaping @Sendable () -> Void) {
            self.deadline = deadline
            self.interruptBody = interrupt
            pthread_mutex_init(lock, nil)
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(changed, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(changed)
            pthread_mutex_destroy(lock)
            lock.deallocate()
            changed.deallocate()
        }

        // MARK: async form

        func start(_ body: @escaping @Sendable () -> Value,
                   _ continuation: CheckedContinuation<Result<Outcome<Value>, IPCError>, Never>) {
            if deadline != .distantFuture {
                do throws(IPCError) { try startWatchdog() } catch {
                    continuation.resume(returning: .failure(error))
                    return
                }
            }
            let started = startThread("ipc-blocking") { [self] in
                let tid = cipc_gettid()
                BlockingCall.workers.withLock { _ = $0.insert(tid) }
                let value = body()
                BlockingCall.workers.withLock { _ = $0.remove(tid) }
                let interruption = finish()
                continuation.resume(returning: .success(Outcome(value: value, interruption: interruption)))
            }
            if let failure = started {
                // Nothing runs: stop the watchdog before reporting.
                _ = finish()
                continuation.resume(returning: .failure(failure))
            }
        }

        /// Called on cancellation: starts interrupting unless the call is over.
        func interrupt(because reason: Interruption) {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            guard !done, interruption == nil else { return }
            interruption = reason
            if watchdog != nil {
                pthread_cond_broadcast(changed)
            } else if let thread = try? spawnWatchdog() {
                watchdog = thread
            } else {
                // No thread for the repeats: interrupt once, here.
                interruptBody()
            }
        }

        // MARK: both forms

        func startWatchdog() throws(IPCError) {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            // A cancellation that came before the start has started one already.
            if watchdog == nil { watchdog = try spawnWatchdog() }
        }

        func finishOnCallingThread() -> Interruption? { finish() }

        /// Marks the call done, waits until the watchdog has stopped calling
        /// `interrupt`, and returns the interruption, if any.
        private func finish() -> Interruption? {
            pthread_mutex_lock(lock)
            done = true
            pthread_cond_broadcast(changed)
            let thread = watchdog
            watchdog = nil
            let result = interruption
            pthread_mutex_unlock(lock)
            if let thread { pthread_join(thread, nil) }
            return result
        }

        private func spawnWatchdog() throws(IPCError) -> pthread_t {
            try LibraryThread.start(name: "ipc-watchdog") { [self] in watch() }
        }

        /// The watchdog: waits for the deadline or a cancellation, then calls
        /// `interrupt` until the call is done.
        private func watch() {
            pthread_mutex_lock(lock)
            while !done && interruption == nil {
                if !wait(until: deadline) && !done && interruption == nil {
                    interruption = .timedOut
                }
            }
            var pause: UInt64 = 1_000_000
            while !done {
                pthread_mutex_unlock(lock)
                interruptBody()
                pthread_mutex_lock(lock)
                if done { break }
                _ = wait(until: Deadline(nanoseconds: Deadline.now.nanoseconds &+ pause))
                pause = min(pause * 2, 100_000_000)
            }
            pthread_mutex_unlock(lock)
        }

        /// Waits on the condition (lock held); false when `deadline` passed.
        private func wait(until deadline: Deadline) -> Bool {
            if deadline == .distantFuture {
                pthread_cond_wait(changed, lock)
                return true
            }
            var at = timespec(tv_sec: Int(deadline.nanoseconds / 1_000_000_000),
                              tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
            return pthread_cond_timedwait(changed, lock, &at) != ETIMEDOUT
        }
    }
}

/// Starts a detached thread running `body`; returns the error when it could not.
private func startThread(_ name: String, _ body: @escaping @Sendable () -> Void) -> IPCError? {
    do { try LibraryThread.startDetached(name: name, body) } catch { return error }
    return nil
}
