import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A `flock` lock (SPEC Y8, beyond the notes): shared (`LOCK_SH`) or exclusive
/// (`LOCK_EX`) on the whole file, never a range — the lock util-linux `flock(1)`,
/// Go's `lockedfile` and Rust's `File::lock` take.
///
/// **Owned by the open file description**, like `OpenFileLock`: released when the
/// last descriptor of that open file closes, shared by a child handed the
/// descriptor or forked; another open of the same file in the same process
/// conflicts with it. Taking it again converts it (shared ↔ exclusive), which is
/// not atomic: the old lock is dropped first. Independent of fcntl locks: a `flock`
/// and a `RecordLock` on the same file do not conflict (Linux, local files). No
/// query: the kernel has no `F_GETLK` for it (`IPCInventory` lists the holders).
public struct WholeFileLock: ~Copyable, Sendable {
    /// The open file the lock is taken through.
    public let descriptor: OwnedDescriptor
    let object: String

    /// Opens (creating with `permissions` when missing) the file at `path`,
    /// without following a symbolic link.
    ///
    /// The corresponding C call is `open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, permissions)`.
    public init(path: FilePath, permissions: FilePermissions = .ownerReadWrite) throws(IPCError) {
        descriptor = try openFileToLock(path, permissions: permissions)
        object = IPCError.describe(path: path)
    }

    /// Locks through `descriptor` (any access mode will do for flock).
    public init(adopting descriptor: consuming OwnedDescriptor) {
        object = IPCError.describe(fd: descriptor.rawValue)
        self.descriptor = descriptor
    }

    /// Takes the lock, waiting while another open file holds a conflicting one.
    ///
    /// The corresponding C call is `flock(fd, LOCK_SH or LOCK_EX)`.
    public func lock(_ access: LockAccess) throws(IPCError) {
        try waiting(access).lock()
    }

    /// Takes the lock if it is free; false otherwise.
    ///
    /// The corresponding C call is `flock(fd, … | LOCK_NB)`.
    public func tryLock(_ access: LockAccess) throws(IPCError) -> Bool {
        try waiting(access).tryLock()
    }

    /// `lock(_:)`, waiting at most until `deadline`; throws `ETIMEDOUT`.
    public func lock(_ access: LockAccess, until deadline: Deadline) throws(IPCError) {
        try waiting(access).lock(until: deadline)
    }

    /// `lock(_:until:)` with a deadline `timeout` from now.
    public func lock(_ access: LockAccess, timeout: Duration) throws(IPCError) {
        try lock(access, until: .after(timeout))
    }

    /// `lock(_:)` without blocking a thread of the cooperative pool; throws
    /// `CancellationError` promptly when the task is cancelled, having taken nothing.
    public func lockAsync(_ access: LockAccess) async throws {
        try await waiting(access).lockAsync(until: .distantFuture)
    }

    /// `lockAsync(_:)`, waiting at most until `deadline`; throws `ETIMEDOUT`.
    public func lockAsync(_ access: LockAccess, until deadline: Deadline) async throws {
        try await waiting(access).lockAsync(until: deadline)
    }

    /// `lockAsync(_:until:)` with a deadline `timeout` from now.
    public func lockAsync(_ access: LockAccess, timeout: Duration) async throws {
        try await lockAsync(access, until: .after(timeout))
    }

    /// Releases the lock.
    ///
    /// The corresponding C call is `flock(fd, LOCK_UN)`.
    public func unlock() throws(IPCError) {
        if retryingInterrupts({ system_flock(descriptor.rawValue, LOCK_UN) }) != 0 {
            throw IPCError.last("flock(LOCK_UN)", object: object)
        }
    }

    private func waiting(_ access: LockAccess) -> LockWaiting {
        let fd = descriptor.rawValue, object = self.object
        let operation = access == .shared ? LOCK_SH : LOCK_EX
        let name = access == .shared ? "flock(LOCK_SH)" : "flock(LOCK_EX)"
        return LockWaiting(
            attempt: { wait in
                if system_flock(fd, wait ? operation : operation | LOCK_NB) == 0 { return .success(true) }
                let code = lastErrno
                if code == EINTR { return nil }
                if !wait, code == EWOULDBLOCK { return .success(false) }
                return .failure(IPCError(Errno(rawValue: code), operation: name, object: object, detail: "the \(access) lock on the whole file"))
            },
            timedOut: {
                IPCError(.timedOut, operation: name, object: object, detail: "the \(access) lock was not granted before the deadline")
            })
    }
}
