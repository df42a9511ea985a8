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
/// try await ready.wait()
/// try PosixSemaphore.unlink("/ready")
/// ```
///
/// Lifetime (SPEC L3): the semaphore lives in /dev/shm (as `sem.NAME`) until it is
/// unlinked — it outlives the process that created it. `unlink` removes the name
/// only: processes that have it open keep using it, and it is destroyed when the
/// last of them closes it (deferred destruction); a later `create` of the same
/// name makes a new semaphore. No descriptor stays open (glibc maps the semaphore
/// and closes the file at once), so `exec` has nothing to inherit: the new program
/// opens it by name.
///
/// `post()` may be called from a signal handler (`sem_post` is async-signal-safe);
/// `SemaphoreSignalPoster` installs such a handler.
public struct PosixSemaphore: ~Copyable, @unchecked Sendable {
    /// The name, e.g. `/ready`.
    public let name: PosixIPCName
    let operations: SemaphoreOperations

    /// SEM_VALUE_MAX: the largest value a semaphore can hold.
    public static var maximumValue: Int { SemaphoreOperations.maximumValue }

    private init(name: PosixIPCName, semaphore: UnsafeMutablePointer<sem_t>) {
        self.name = name
        self.operations = SemaphoreOperations(semaphore, object: name.quoted)
    }

    /// Creates a semaphore with `value`, failing with `EEXIST` if the name exists.
    /// The process umask applies to `permissions`; `value` above `maximumValue`
    /// is `EINVAL`.
    ///
    /// The corresponding C function is `sem_open` with `O_CREAT | O_EXCL`.
    public static func create(
        _ name: PosixIPCName, value: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSemaphore {
        try open(name, flags: O_EXCL, creating: (value, permissions))
    }

    /// Opens an existing semaphore; `ENOENT` when there is none.
    ///
    /// The corresponding C function is `sem_open`.
    public static func open(_ name: PosixIPCName) throws(IPCError) -> PosixSemaphore {
        try open(name, flags: 0, creating: nil)
    }

    /// Opens the semaphore, creating it with `value` and `permissions` when there
    /// is none (an existing semaphore keeps its value).
    ///
    /// The corresponding C function is `sem_open` with `O_CREAT`.
    public static func openOrCreate(
        _ name: PosixIPCName, value: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSemaphore {
        try open(name, flags: 0, creating: (value, permissions))
    }

    private static func open(_ name: PosixIPCName, flags: CInt, creating: (value: Int, permissions: FilePermissions)?) throws(IPCError) -> PosixSemaphore {
        try name.validate(for: .semaphore)
        let semaphore: UnsafeMutablePointer<sem_t>?
        if let creating {
            try SemaphoreOperations.checkValue(creating.value, operation: "sem_open", object: name.quoted)
            semaphore = name.withCString {
                system_sem_open($0, flags, creating.permissions.rawValue, CUnsignedInt(creating.value))
            }
        } else {
            semaphore = name.withCString { system_sem_open($0, flags) }
        }
        guard let semaphore else { throw IPCError.last("sem_open", object: name.quoted) }
        return PosixSemaphore(name: name, semaphore: semaphore)
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

    /// Set by `close()`, so the deinit does not close again.
    private var isClosed = false

    deinit {
        if !isClosed { _ = system_sem_close(operations.semaphore) }
    }

    /// Closes the semaphore in this process, reporting a failure.
    ///
    /// The corresponding C function is `sem_close`.
    public consuming func close() throws(IPCError) {
        isClosed = true
        if system_sem_close(operations.semaphore) != 0 { throw IPCError.last("sem_close", object: operations.object) }
    }

    /// Decrements the value, waiting while it is zero.
    /// The corresponding C function is `sem_wait`.
    public func wait() throws(IPCError) { try operations.wait() }

    /// Decrements the value if it is above zero; false (EAGAIN) when it is zero.
    /// The corresponding C function is `sem_trywait`.
    public func tryWait() throws(IPCError) -> Bool { try operations.tryWait() }

    /// Decrements the value, waiting at most until `deadline`; false when the
    /// deadline passed first. The corresponding C function is `sem_clockwait`
    /// (on `CLOCK_MONOTONIC`, so changing the wall clock does not matter).
    public func wait(until deadline: Deadline) throws(IPCError) -> Bool { try operations.wait(until: deadline) }

    /// Decrements the value, suspending the task (not a thread of the cooperative
    /// pool) while it is zero. Throws `CancellationError` promptly when the task is
    /// cancelled. See `SemaphoreWaiter` for how.
    public func wait() async throws { _ = try await operations.wait(until: .distantFuture) }

    /// Decrements the value, suspending the task at most until `deadline`; false
    /// when the deadline passed first. Cancellable like `wait()`.
    public func wait(until deadline: Deadline) async throws -> Bool { try await operations.wait(until: deadline) }

    /// Increments the value, waking one waiter; `EOVERFLOW` at `maximumValue`.
    /// The corresponding C function is `sem_post` (async-signal-safe).
    public func post() throws(IPCError) { try operations.post() }

    /// The current value. The corresponding C function is `sem_getvalue`.
    public var value: Int {
        get throws(IPCError) { try operations.value() }
    }
}
