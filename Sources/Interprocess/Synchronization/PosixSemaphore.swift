import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A named POSIX semaphore, open in this process until this value goes away
/// (SPEC Y1).
///
/// ```swift
/// let ready = try PosixSemaphore.create("/ready", value: 0)
/// // another process: try PosixSemaphore.open("/ready").post()
/// try await ready.waitAsync()
/// try PosixSemaphore.unlink("/ready")
/// ```
///
/// Lifetime (SPEC L3): the semaphore lives in /dev/shm (as `sem.NAME`) until it is
/// unlinked — it outlives the process that created it. `unlink` removes the name
/// only: processes that have it open keep using it, and it is destroyed when the
/// last of them closes it (deferred destruction); a later `create` of the same
/// name makes a new semaphore. No descriptor stays open (the library, like glibc,
/// maps the semaphore and closes the file at once), so `exec` has nothing to
/// inherit: the new program opens it by name.
///
/// Junk under the name is refused before anything touches it: `open` accepts only
/// a regular file that is a well-formed semaphore of this C library
/// (`PosixSemaphoreLayout`), without waiting on a FIFO or following a link. Another
/// process that can write the file can still change it later; then an operation
/// fails (`EINVAL` for memory that no longer holds a semaphore, `EFAULT` when the
/// file was truncated), and the process never crashes. See `NamedSemaphoreFile`
/// and Synchronization/README.md.
///
/// `post()` may be called from a signal handler (`sem_post` is async-signal-safe);
/// `SemaphoreSignalPoster` installs such a handler.
public struct PosixSemaphore: ~Copyable, @unchecked Sendable {
    /// The name, e.g. `/ready`: its exact bytes.
    public let name: PosixIPCName
    /// The semaphore's file, mapped (guarded against a peer that truncates it).
    let mapping: MemoryMapping
    let operations: SemaphoreOperations

    /// SEM_VALUE_MAX: the largest value a semaphore can hold.
    public static var maximumValue: Int { SemaphoreOperations.maximumValue }

    private init(name: PosixIPCName, mapping: consuming MemoryMapping) {
        self.name = name
        self.operations = SemaphoreOperations(mapping.base.assumingMemoryBound(to: sem_t.self), object: name.quoted)
        self.mapping = mapping
    }

    /// Creates a semaphore with `value`, failing with `EEXIST` if the name exists.
    /// The process umask applies to `permissions`; `value` above `maximumValue`
    /// is `EINVAL`.
    ///
    /// The corresponding C function is `sem_open` with `O_CREAT | O_EXCL`; the
    /// library does what it does (see `NamedSemaphoreFile`).
    public static func create(
        _ name: PosixIPCName, value: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSemaphore {
        try name.validate(for: .semaphore)
        try SemaphoreOperations.checkValue(value, operation: "sem_open", object: name.quoted)
        return PosixSemaphore(name: name, mapping: try NamedSemaphoreFile.create(name, value: UInt32(value), permissions: permissions))
    }

    /// Opens an existing semaphore; `ENOENT` when there is none, `EINVAL` when
    /// the name holds something that is not a semaphore of this C library (a
    /// file of another size, a value above `maximumValue`), `EISDIR` for a
    /// directory, `ELOOP` for a symbolic link — checked before anything touches it.
    ///
    /// The corresponding C function is `sem_open`.
    public static func open(_ name: PosixIPCName) throws(IPCError) -> PosixSemaphore {
        try name.validate(for: .semaphore)
        return PosixSemaphore(name: name, mapping: try NamedSemaphoreFile.open(name))
    }

    /// Opens the semaphore, creating it with `value` and `permissions` when there
    /// is none (an existing semaphore keeps its value, and is checked as `open`
    /// checks it).
    ///
    /// The corresponding C function is `sem_open` with `O_CREAT`.
    public static func openOrCreate(
        _ name: PosixIPCName, value: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSemaphore {
        try name.validate(for: .semaphore)
        try SemaphoreOperations.checkValue(value, operation: "sem_open", object: name.quoted)
        while true {
            do throws(IPCError) {
                return PosixSemaphore(name: name, mapping: try NamedSemaphoreFile.open(name))
            } catch where error.errno == .noSuchFileOrDirectory {}
            do throws(IPCError) {
                return PosixSemaphore(name: name, mapping: try NamedSemaphoreFile.create(name, value: UInt32(value), permissions: permissions))
            } catch where error.errno == .fileExists {
                continue  // made by another process between the two calls: open it
            }
        }
    }

    /// Removes the name; see the type's lifetime notes.
    ///
    /// The corresponding C function is `sem_unlink`.
    public static func unlink(_ name: PosixIPCName) throws(IPCError) {
        try name.validate(for: .semaphore, operation: "sem_unlink")
        if name.withCString({ system_sem_unlink($0) }) != 0 {
            throw IPCError.last("sem_unlink", object: name.quoted)
        }
    }

    /// `create` with the name whose bytes are the UTF-8 of `name`.
    public static func create(
        _ name: String, value: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSemaphore {
        try create(PosixIPCName(name), value: value, permissions: permissions)
    }

    /// `open` with the name whose bytes are the UTF-8 of `name`.
    public static func open(_ name: String) throws(IPCError) -> PosixSemaphore { try open(PosixIPCName(name)) }

    /// `openOrCreate` with the name whose bytes are the UTF-8 of `name`.
    public static func openOrCreate(
        _ name: String, value: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSemaphore {
        try openOrCreate(PosixIPCName(name), value: value, permissions: permissions)
    }

    /// `unlink` with the name whose bytes are the UTF-8 of `name`.
    public static func unlink(_ name: String) throws(IPCError) { try unlink(PosixIPCName(name)) }

    /// Closes the semaphore in this process (unmaps its file), reporting a failure.
    ///
    /// The corresponding C function is `sem_close`.
    public consuming func close() throws(IPCError) {
        try mapping.unmap()
    }

    /// Runs `body`, then reports `EFAULT` if another process shrank the file under
    /// it (the guard let the access complete on zero-filled pages).
    private func checked<R>(_ operation: String, _ body: () throws(IPCError) -> R) throws(IPCError) -> R {
        let result: R
        do throws(IPCError) { result = try body() } catch {
            try mapping.checkAfterAccess(operation)
            throw error
        }
        try mapping.checkAfterAccess(operation)
        return result
    }

    /// Decrements the value, waiting while it is zero.
    /// The corresponding C function is `sem_wait`.
    public func wait() throws(IPCError) { try checked("sem_wait") { () throws(IPCError) in try operations.wait() } }

    /// Decrements the value if it is above zero; false (EAGAIN) when it is zero.
    /// The corresponding C function is `sem_trywait`.
    public func tryWait() throws(IPCError) -> Bool { try checked("sem_trywait") { () throws(IPCError) in try operations.tryWait() } }

    /// Decrements the value, waiting at most until `deadline`; throws `ETIMEDOUT`
    /// when the deadline passed first. The corresponding C function is
    /// `sem_clockwait` (on `CLOCK_MONOTONIC`, so changing the wall clock does not matter).
    public func wait(until deadline: Deadline) throws(IPCError) {
        try checked("sem_clockwait") { () throws(IPCError) in try operations.wait(until: deadline) }
    }

    /// `wait(until:)` with a deadline `timeout` from now.
    public func wait(timeout: Duration) throws(IPCError) { try wait(until: .after(timeout)) }

    /// Decrements the value, suspending the task (not a thread of the cooperative
    /// pool) while it is zero. Throws `CancellationError` promptly when the task is
    /// cancelled. See `SemaphoreOperations.waitAsync(until:)` and `WaitingEngine` for how.
    public func waitAsync() async throws {
        do { try await operations.waitAsync(until: .distantFuture) } catch {
            try mapping.checkAfterAccess("sem_wait")
            throw error
        }
        try mapping.checkAfterAccess("sem_wait")
    }

    /// Decrements the value, suspending the task at most until `deadline`; throws
    /// `ETIMEDOUT` when the deadline passed first. Cancellable like `waitAsync()`.
    public func waitAsync(until deadline: Deadline) async throws {
        do { try await operations.waitAsync(until: deadline) } catch {
            try mapping.checkAfterAccess("sem_clockwait")
            throw error
        }
        try mapping.checkAfterAccess("sem_clockwait")
    }

    /// `waitAsync(until:)` with a deadline `timeout` from now.
    public func waitAsync(timeout: Duration) async throws { try await waitAsync(until: .after(timeout)) }

    /// Increments the value, waking one waiter; `EOVERFLOW` at `maximumValue`.
    /// The corresponding C function is `sem_post` (async-signal-safe).
    public func post() throws(IPCError) { try checked("sem_post") { () throws(IPCError) in try operations.post() } }

    /// The current value. The corresponding C function is `sem_getvalue`.
    public var value: Int {
        get throws(IPCError) { try checked("sem_getvalue") { () throws(IPCError) in try operations.value() } }
    }
}
