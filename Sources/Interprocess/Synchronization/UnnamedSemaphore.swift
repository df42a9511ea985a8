#if canImport(Glibc)
import Glibc
#endif

/// An unnamed POSIX semaphore for the threads and tasks of this process
/// (SPEC Y2). It lives in memory this value owns and is destroyed with it.
///
/// For a semaphore shared between processes, place one in shared memory:
/// `SharedLayout.semaphore(value:)` and `PlacedMapping.withSemaphore(_:)`.
///
/// ```swift
/// let slots = try UnnamedSemaphore(value: 4)
/// try await slots.waitAsync()
/// defer { try? slots.post() }
/// ```
public struct UnnamedSemaphore: ~Copyable, @unchecked Sendable {
    let operations: SemaphoreOperations

    /// SEM_VALUE_MAX: the largest value a semaphore can hold.
    public static var maximumValue: Int { SemaphoreOperations.maximumValue }

    /// Makes a semaphore with `value`; above `maximumValue` is `EINVAL`.
    ///
    /// The corresponding C function is `sem_init` with `pshared` 0.
    public init(value: Int = 0) throws(IPCError) {
        let object = "unnamed semaphore"
        try SemaphoreOperations.checkValue(value, operation: "sem_init", object: object)
        let storage = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        if system_sem_init(storage, 0, CUnsignedInt(value)) != 0 {
            let error = IPCError.last("sem_init", object: object)
            storage.deallocate()
            throw error
        }
        operations = SemaphoreOperations(storage, object: object)
    }

    deinit {
        _ = system_sem_destroy(operations.semaphore)
        operations.semaphore.deallocate()
    }

    /// Decrements the value, waiting while it is zero.
    /// The corresponding C function is `sem_wait`.
    public func wait() throws(IPCError) { try operations.wait() }

    /// Decrements the value if it is above zero; false (EAGAIN) when it is zero.
    /// The corresponding C function is `sem_trywait`.
    public func tryWait() throws(IPCError) -> Bool { try operations.tryWait() }

    /// Decrements the value, waiting at most until `deadline`; throws when the
    /// deadline passed first: `ETIMEDOUT`. The corresponding C function is `sem_clockwait`.
    public func wait(until deadline: Deadline) throws(IPCError) { try operations.wait(until: deadline) }

    /// `wait(until:)` with a deadline `timeout` from now.
    public func wait(timeout: Duration) throws(IPCError) { try wait(until: .after(timeout)) }

    /// Decrements the value, suspending the task (not a thread of the cooperative
    /// pool) while it is zero; throws `CancellationError` promptly on cancellation.
    public func waitAsync() async throws { try await operations.waitAsync(until: .distantFuture) }

    /// Like `wait()`, giving up at `deadline`: `ETIMEDOUT` when it passed first.
    public func waitAsync(until deadline: Deadline) async throws { try await operations.waitAsync(until: deadline) }

    /// `waitAsync(until:)` with a deadline `timeout` from now.
    public func waitAsync(timeout: Duration) async throws { try await waitAsync(until: .after(timeout)) }

    /// Increments the value, waking one waiter; `EOVERFLOW` at `maximumValue`.
    /// The corresponding C function is `sem_post` (async-signal-safe).
    public func post() throws(IPCError) { try operations.post() }

    /// The current value. The corresponding C function is `sem_getvalue`.
    public var value: Int {
        get throws(IPCError) { try operations.value() }
    }
}
