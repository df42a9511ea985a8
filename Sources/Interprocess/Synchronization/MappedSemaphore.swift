#if canImport(Glibc)
import Glibc
#endif

/// An unnamed POSIX semaphore that lives inside shared memory, so every process
/// mapping that memory can wait on it and post it (SPEC Y2).
///
/// Lent to a closure by `MemoryMapping.withSemaphore(at:)`, it cannot outlive the
/// mapping. Who does what:
/// - One process — the one that creates the shared memory — calls
///   `initializeSemaphore(at:value:)` once, before any other process uses the
///   semaphore (for example before handing the memory to a child, or before
///   announcing it by name).
/// - Every process, the creator included, then uses it with `withSemaphore(at:)`.
///   Nobody initializes it again: that would reset it under its waiters.
/// - `destroySemaphore(at:)` is optional (on Linux it releases nothing) and
///   allowed only once no process waits on it or will use it again.
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

    /// Decrements the value, waiting at most until `deadline`; false when the
    /// deadline passed first. The corresponding C function is `sem_clockwait`.
    public func wait(until deadline: Deadline) throws(IPCError) -> Bool { try operations.wait(until: deadline) }

    /// Decrements the value, suspending the task (not a thread of the cooperative
    /// pool) while it is zero; throws `CancellationError` promptly on cancellation.
    public func wait() async throws { _ = try await operations.wait(until: .distantFuture) }

    /// Like `wait()`, giving up at `deadline`: false when it passed first.
    public func wait(until deadline: Deadline) async throws -> Bool { try await operations.wait(until: deadline) }

    /// Increments the value, waking one waiter in any process; `EOVERFLOW` at
    /// SEM_VALUE_MAX. The corresponding C function is `sem_post` (async-signal-safe).
    public func post() throws(IPCError) { try operations.post() }

    /// The current value. The corresponding C function is `sem_getvalue`.
    public var value: Int {
        get throws(IPCError) { try operations.value() }
    }
}

extension MemoryMapping {
    /// Makes a process-shared semaphore with `value` at `offset` (aligned, with
    /// `MappedSemaphore.size` bytes). Call it once, in one process, before anyone
    /// uses the semaphore; see `MappedSemaphore` for the contract.
    ///
    /// The corresponding C function is `sem_init` with `pshared` 1.
    public func initializeSemaphore(at offset: Int, value: Int = 0) throws(IPCError) {
        let semaphore = try semaphoreAddress("sem_init", offset)
        try SemaphoreOperations.checkValue(value, operation: "sem_init", object: label)
        if system_sem_init(semaphore, 1, CUnsignedInt(value)) != 0 { throw IPCError.last("sem_init", object: label) }
        try checkAfterAccess("sem_init")
    }

    /// Destroys the semaphore at `offset`, once no process uses it any more.
    ///
    /// The corresponding C function is `sem_destroy`.
    public func destroySemaphore(at offset: Int) throws(IPCError) {
        let semaphore = try semaphoreAddress("sem_destroy", offset)
        if system_sem_destroy(semaphore) != 0 { throw IPCError.last("sem_destroy", object: label) }
    }

    /// Lends `body` the process-shared semaphore at `offset`, made earlier by
    /// `initializeSemaphore(at:value:)` in this or another process.
    public func withSemaphore<R>(at offset: Int, _ body: (borrowing MappedSemaphore) throws -> R) throws -> R {
        let semaphore = try semaphoreAddress("withSemaphore", offset)
        let result: R
        do { result = try body(MappedSemaphore(SemaphoreOperations(semaphore, object: label))) } catch {
            try checkAfterAccess("withSemaphore")
            throw error
        }
        try checkAfterAccess("withSemaphore")
        return result
    }

    /// Lends `body` the process-shared semaphore at `offset` for async waits.
    public func withSemaphore<R>(at offset: Int, _ body: (borrowing MappedSemaphore) async throws -> R) async throws -> R {
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
