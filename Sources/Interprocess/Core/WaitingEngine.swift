import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// The one component through which every wait that cannot be polled goes: POSIX
/// semaphores (`sem_wait`/`sem_clockwait`), futexes, System V queues (`msgrcv`,
/// `msgsnd`) and sets (`semop`, `semtimedop`), a FIFO open waiting for its
/// partner — and next process-shared pthread objects and `F_SETLKW`
/// (DESIGN, API principle 3).
///
/// A caller hands the engine an *attempt*: one blocking system call that returns
/// its result, or nil when the call failed with `EINTR`. The engine makes attempts
/// until one returns a result or the wait is interrupted:
///
/// - **Async** (`wait(interruptingAt:_:) async`): the task is suspended and the
///   attempts run on a worker, a thread of the library's own (`LibraryThread`),
///   never on a thread of the cooperative pool. Workers are reused: the most
///   recently idle one takes the next job; a new one is started only when none is
///   idle. The engine grows on demand up to `keptWorkers` (64) workers, which stay
///   idle for `idleRetirement` (3 s) and then end. Past that bound it still grows,
///   because a job is never queued behind blocked ones — a queued `msgrcv` could
///   be the very call that would unblock a running `msgsnd` — but those extra
///   workers end as soon as their wait is over, and at the hard cap
///   `maximumWorkers` (1024 waits blocked at once) a new wait fails at once with
///   `EAGAIN` instead of deadlocking.
/// - **Blocking, time-bounded** (`waitOnCallingThread(interruptingAt:_:)`): the
///   attempts run on the calling thread (a distinct name, so async code can call
///   it too).
/// - **Blocking, no deadline**: the attempts run on the calling thread; `EINTR` is
///   retried; the engine is not involved.
///
/// **Interrupting.** When the task is cancelled or the engine's deadline passes,
/// the wait's flag is set and, if its thread is inside the call, the thread is sent
/// `LibrarySignals.interrupt` (`SIGURG`, a handler without `SA_RESTART`) with
/// `pthread_kill`: the call returns `EINTR`, the attempt returns nil, and the
/// engine sees the flag. The flag is checked under the engine's lock before each
/// attempt, and a thread is signalled only while it is marked inside its call, so
/// a signal never reaches a thread that has moved on. There are no polling slices:
/// a blocked wait sleeps in the kernel until its event, its interruption or its
/// kernel timeout.
///
/// **The one race, and the only repeat.** A signal can land after the thread's
/// last check of the flag and before it enters the system call; the call then
/// blocks with the signal already handled. So after interrupting, the engine's
/// timer sends the signal again — after 1 ms, then doubling up to 100 ms — for as
/// long as that thread is still inside that call. A wait interrupted while it is
/// really blocked returns at the first signal, long before the first repeat.
///
/// **Deadlines.** Calls that have a kernel timeout (`sem_clockwait`, futex waits,
/// `semtimedop`, `mq_timed*`) get the deadline themselves and the engine gets
/// none. Calls that have none (`msgrcv`, `msgsnd`, `open` of a FIFO) pass the
/// deadline as `interruptingAt`: one timer thread for the whole engine keeps a
/// heap of those deadlines (and of the repeats above) and interrupts each wait
/// when its time comes. Never a thread per wait. It ends after `idleRetirement`
/// with nothing to do.
///
/// An attempt that returned a result is kept even when the wait was interrupted
/// at the same moment: a message received, a semaphore decremented or a FIFO
/// opened as the task was cancelled is returned, not lost.
///
/// If the interrupt handler could not be installed (`LibrarySignals.interruptsWork`
/// is false), waits end only with their event or their kernel timeout.
///
/// ```swift
/// // On a worker; ends with CancellationError when the task is cancelled.
/// let result = try await WaitingEngine.wait { () -> Result<Int, IPCError>? in
///     let count = system_msgrcv(id, buffer, capacity, type, 0)
///     if count >= 0 { return .success(count) }
///     return errno == EINTR ? nil : .failure(.last("msgrcv"))
/// }
/// ```
enum WaitingEngine {
    /// Workers kept (idle, for `idleRetirement`) for the next waits; more end as
    /// soon as their wait is over.
    static let keptWorkers = 64
    /// The hard cap on workers, i.e. on async waits blocked at once in a process.
    static let maximumWorkers = 1024
    /// How long an idle worker (or the idle timer thread) stays before it ends.
    static let idleRetirement: UInt64 = 3_000_000_000
    /// The first and the longest pause before the interrupt is sent again.
    static let firstRepeat: UInt64 = 1_000_000
    static let longestRepeat: UInt64 = 100_000_000

    /// Why a wait ended without a result.
    enum Interruption: Sendable, Equatable {
        case cancelled
        case timedOut
    }

    /// Suspends the task while the attempts run on a worker. Returns the first
    /// result, or nil when `deadline` passed first; throws `CancellationError` when
    /// the task is cancelled first, and `IPCError` (`EAGAIN`) when no worker could
    /// be had (the hard cap, or `pthread_create` failing).
    static func wait<Value: Sendable>(
        interruptingAt deadline: Deadline = .distantFuture,
        _ attempt: @escaping @Sendable () -> Value?
    ) async throws -> Value? {
        let result = WaitingResult<Value>()
        let job = WaitingJob(interruptAt: deadline) {
            guard let value = attempt() else { return false }
            result.value = value
            return true
        }
        let engine = WaitingEngineCore.shared
        let end = await withTaskCancellationHandler {
            await withSanitizedContinuation { continuation in engine.submit(job, resuming: continuation) }
        } onCancel: {
            engine.interrupt(job, because: .cancelled)
        }
        switch end {
        case .failure(let error): throw error
        case .success(nil): return result.value
        case .success(.cancelled): throw CancellationError()
        case .success(.timedOut): return nil
        }
    }

    /// Makes the attempts on the calling thread until one returns a result, which
    /// it returns, or `deadline` passes (nil). Throws only when the timer thread
    /// could not be started.
    static func waitOnCallingThread<Value>(interruptingAt deadline: Deadline, _ attempt: () -> Value?) throws(IPCError) -> Value? {
        if deadline == .distantFuture {
            while true { if let value = attempt() { return value } }
        }
        var result: Value?
        let ended: Result<Void, IPCError> = withoutActuallyEscaping(attempt) { attempt in
            let job = WaitingJob(interruptAt: deadline) {
                guard let value = attempt() else { return false }
                result = value
                return true
            }
            let engine = WaitingEngineCore.shared
            do throws(IPCError) { try engine.startOnCallingThread(job) } catch { return .failure(error) }
            _ = engine.runAttempts(job)
            return .success(())
        }
        try ended.get()
        return result
    }

    /// Thread ids of the engine's workers now alive, idle or waiting, so a test can
    /// find in /proc the one blocked in a call before it cancels it, and count them.
    static var workerThreads: [pid_t] { WaitingEngineCore.shared.workerThreads }
}

/// Where a worker leaves the result of an async wait; read by the task once the
/// continuation has resumed it.
final class WaitingResult<Value>: @unchecked Sendable {
    var value: Value?
}
