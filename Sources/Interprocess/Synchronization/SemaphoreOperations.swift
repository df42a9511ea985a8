import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The operations every POSIX semaphore has — named, unnamed in this process, or
/// unnamed in shared memory — over the `sem_t` they live in (SPEC Y1, Y2).
@usableFromInline
struct SemaphoreOperations: @unchecked Sendable {
    @usableFromInline let semaphore: UnsafeMutablePointer<sem_t>
    /// The semaphore, for errors: `"/ready"`, `unnamed semaphore`.
    let object: String

    init(_ semaphore: UnsafeMutablePointer<sem_t>, object: String) {
        self.semaphore = semaphore
        self.object = object
    }

    /// SEM_VALUE_MAX: the largest value a semaphore can hold.
    static let maximumValue = Int(cipc_sem_value_max())

    /// Throws `EINVAL` for a value outside 0...SEM_VALUE_MAX.
    static func checkValue(_ value: Int, operation: String, object: String) throws(IPCError) {
        if value < 0 || value > maximumValue {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "the initial value \(value) is outside 0...\(maximumValue) (SEM_VALUE_MAX)")
        }
    }

    /// Decrements, waiting while the value is zero; retried after EINTR.
    @inline(__always)
    func wait() throws(IPCError) {
        if retryingInterrupts({ system_sem_wait(semaphore) }) != 0 { throw failure("sem_wait") }
    }

    /// Decrements if the value is above zero; false when it is zero (EAGAIN).
    func tryWait() throws(IPCError) -> Bool {
        if retryingInterrupts({ system_sem_trywait(semaphore) }) == 0 { return true }
        if lastErrno == EAGAIN { return false }
        throw failure("sem_trywait")
    }

    /// Decrements, waiting at most until `deadline` (on the monotonic clock);
    /// `ETIMEDOUT` when the deadline passed first.
    func wait(until deadline: Deadline) throws(IPCError) {
        if deadline == .distantFuture { return try wait() }
        var at = deadline.absoluteTimespec
        if retryingInterrupts({ system_sem_clockwait(semaphore, &at) }) != 0 { throw failure("sem_clockwait") }
    }

    /// Increments, waking one waiter. Async-signal-safe underneath (`sem_post`).
    @inline(__always)
    func post() throws(IPCError) {
        if system_sem_post(semaphore) != 0 {
            let error = failure("sem_post")
            if error.errno == .overflow {
                throw IPCError(.overflow, operation: "sem_post", object: object,
                               detail: "the value is already SEM_VALUE_MAX (\(Self.maximumValue))")
            }
            throw error
        }
    }

    /// The current value (never negative on Linux: waiters are not counted).
    func value() throws(IPCError) -> Int {
        var value: CInt = 0
        if system_sem_getvalue(semaphore, &value) != 0 { throw failure("sem_getvalue") }
        return Int(value)
    }

    /// The error of the operation that just failed, read from `errno`; when the
    /// semaphore's memory no longer holds a semaphore (the library's operations
    /// check its value and futex flag every time and answer `EINVAL`, since
    /// another process may have overwritten them), the detail says so.
    func failure(_ operation: String, code: CInt = lastErrno) -> IPCError {
        IPCError(Errno(rawValue: code), operation: operation, object: object,
                 detail: code == EINVAL && isCorrupt ? Self.corruptDetail : nil)
    }

    static let corruptDetail = "the memory does not hold a semaphore (any more): its value is above SEM_VALUE_MAX or its futex flag is neither 0 nor 128; another process overwrote it"

    /// Whether the semaphore's words are not what a semaphore of this C library
    /// holds (see `PosixSemaphoreLayout`).
    var isCorrupt: Bool {
        let words = UnsafeRawPointer(semaphore)
        let value = words.load(fromByteOffset: PosixSemaphoreLayout.valueOffset, as: UInt32.self)
        let flag = words.load(fromByteOffset: PosixSemaphoreLayout.privateOffset, as: UInt32.self)
        return value > UInt32(Self.maximumValue)
            || (flag != PosixSemaphoreLayout.processShared && flag != PosixSemaphoreLayout.processPrivate)
    }

    /// Waits without blocking a thread of the cooperative pool: after one
    /// `sem_trywait`, `sem_wait` (or `sem_clockwait` for a deadline, the kernel's
    /// own timeout) runs on a worker of the `WaitingEngine`, which interrupts it
    /// when the task is cancelled. Throws `ETIMEDOUT` when the deadline passed
    /// first, `CancellationError` when the task was cancelled first. A decrement
    /// that happened as the task was cancelled is kept (no error), not lost.
    func waitAsync(until deadline: Deadline) async throws {
        try Task.checkCancellation()
        if try tryWait() { return }
        if deadline.hasPassed { throw failure("sem_clockwait", code: ETIMEDOUT) }
        let result = try await WaitingEngine.wait { [self] () -> Result<Void, IPCError>? in
            let rc: CInt
            if deadline == .distantFuture {
                rc = system_sem_wait(semaphore)
            } else {
                var at = deadline.absoluteTimespec
                rc = system_sem_clockwait(semaphore, &at)
            }
            if rc == 0 { return .success(()) }
            let code = lastErrno
            if code == EINTR { return nil }
            return .failure(failure(deadline == .distantFuture ? "sem_wait" : "sem_clockwait", code: code))
        }
        guard let result else { throw failure("sem_clockwait", code: ETIMEDOUT) }
        try result.get()
    }
}
