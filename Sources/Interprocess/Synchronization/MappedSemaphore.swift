#if canImport(Glibc)
import Glibc
#endif

/// An unnamed POSIX semaphore that lives inside shared memory, so every process
/// mapping that memory can wait on it and post it (SPEC Y2).
///
/// A semaphore is placed by a `SharedLayout` (`semaphore(value:)`), initialised
/// exactly once by the process that creates the placed objects
/// (`PlacedMapping.create`), and lent to a closure by
/// `PlacedMapping.withSemaphore(_:)`, so it cannot outlive the mapping:
///
/// ```swift
/// var layout = try SharedLayout(type: "jobs", version: 1)
/// let ready = try layout.semaphore(value: 0)
/// let placed = try PlacedMapping.create(layout, in: PosixSharedMemory.create("/jobs", size: layout.size).map())
/// try placed.withSemaphore(ready) { try $0.post() }
/// // another process: PlacedMapping.open(layout, in: PosixSharedMemory.open("/jobs").map(), until: .after(.seconds(5)))
/// ```
///
/// Nothing can initialise it again: `create` over ready objects is `EEXIST`, so no
/// waiter ever sees its semaphore reset. There is no destroy: on Linux
/// `sem_destroy` releases nothing, and the semaphore goes with the memory.
///
/// The memory must stay mapped while a process waits: a process that shrinks the
/// object under a waiter leaves it waiting until its deadline.
public struct MappedSemaphore: ~Copyable, @unchecked Sendable {
    let operations: SemaphoreOperations

    /// The bytes a semaphore takes in the mapping (`sizeof(sem_t)`).
    public static var size: Int { MemoryLayout<sem_t>.size }
    /// The alignment its offset needs.
    public static var alignment: Int { MemoryLayout<sem_t>.alignment }

    init(_ operations: SemaphoreOperations) { self.operations = operations }

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

    /// Increments the value, waking one waiter in any process; `EOVERFLOW` at
    /// SEM_VALUE_MAX. The corresponding C function is `sem_post` (async-signal-safe).
    public func post() throws(IPCError) { try operations.post() }

    /// The current value. The corresponding C function is `sem_getvalue`.
    public var value: Int {
        get throws(IPCError) { try operations.value() }
    }
}

extension PlacedMapping {
    /// Lends `body` the process-shared semaphore at `place`. Throws `EINVAL` for a
    /// place of another layout, `EACCES` for a mapping that is not readable and
    /// writable.
    public func withSemaphore<R>(_ place: SharedPlace<MappedSemaphore>, _ body: (borrowing MappedSemaphore) throws -> R) throws -> R {
        try layout.check(place, .semaphore, operation: "withSemaphore")
        return try mapping.withSemaphoreInPlace(at: place.offset, body)
    }

    /// Lends `body` the process-shared semaphore at `place` for async waits.
    public func withSemaphore<R>(_ place: SharedPlace<MappedSemaphore>, _ body: (borrowing MappedSemaphore) async throws -> R) async throws -> R {
        try layout.check(place, .semaphore, operation: "withSemaphore")
        return try await mapping.withSemaphoreInPlace(at: place.offset, body)
    }
}

extension MemoryMapping {
    func withSemaphoreInPlace<R>(at offset: Int, _ body: (borrowing MappedSemaphore) throws -> R) throws -> R {
        let semaphore = try semaphoreAddress("withSemaphore", offset)
        let result: R
        do { result = try body(MappedSemaphore(SemaphoreOperations(semaphore, object: label))) } catch {
            try checkAfterAccess("withSemaphore")
            throw error
        }
        try checkAfterAccess("withSemaphore")
        return result
    }

    func withSemaphoreInPlace<R>(at offset: Int, _ body: (borrowing MappedSemaphore) async throws -> R) async throws -> R {
        let semaphore = try semaphoreAddress("withSemaphore", offset)
        let result: R
        do { result = try await body(MappedSemaphore(SemaphoreOperations(semaphore, object: label))) } catch {
            try checkAfterAccess("withSemaphore")
            throw error
        }
        try checkAfterAccess("withSemaphore")
        return result
    }

    private func semaphoreAddress(_ operation: String, _ offset: Int) throws(IPCError) -> UnsafeMutablePointer<sem_t> {
        if !protection.contains(.readWrite) {
            throw IPCError(.permissionDenied, operation: operation, object: label,
                           detail: "a semaphore needs a readable and writable mapping")
        }
        return try typedAddress(operation, sem_t.self, offset: offset, writing: true).assumingMemoryBound(to: sem_t.self)
    }
}
