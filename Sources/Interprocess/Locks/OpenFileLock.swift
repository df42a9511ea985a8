import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Open-file-description record locks (SPEC Y8, beyond the notes): shared or
/// exclusive locks on byte ranges, taken with `fcntl` `F_OFD_SETLK` /
/// `F_OFD_SETLKW` and asked about with `F_OFD_GETLK` (Linux 3.15).
///
/// **Owned by the open file description** this value opened or adopted — the
/// safe default for new code:
/// - released when the last descriptor of that open file is closed (this value's,
///   and any duplicate or inherited copy), or with `unlock`; closing another,
///   separately opened descriptor of the same file releases nothing.
/// - shared by a child handed the descriptor (`Spawn.inherit`) or forked: they
///   hold the same lock, and it lasts while any of them keeps the file open.
/// - two `OpenFileLock`s of one file in one process (two opens) conflict like two
///   processes would, so threads can each use their own.
/// - no deadlock detection: a cycle of waiters waits until a deadline or a
///   cancellation ends it (use the time-bounded or async forms).
/// - a conflict reports no holder pid: the kernel does not know one.
///
/// They conflict with POSIX `fcntl`/`lockf` locks on the same bytes (not with
/// `flock`).
public struct OpenFileLock: ~Copyable, Sendable {
    /// The open file the locks are taken through.
    public let descriptor: OwnedDescriptor
    let locking: FcntlLocking

    /// Opens (creating with `permissions` when missing) the file at `path` for
    /// reading and writing, without following a symbolic link.
    ///
    /// The corresponding C call is `open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, permissions)`.
    public init(path: FilePath, permissions: FilePermissions = .ownerReadWrite) throws(IPCError) {
        self.init(adopting: try openFileToLock(path, permissions: permissions), object: IPCError.describe(path: path))
    }

    /// Locks through `descriptor`, which must be open for reading (shared locks)
    /// or writing (exclusive locks).
    public init(adopting descriptor: consuming OwnedDescriptor) {
        let object = IPCError.describe(fd: descriptor.rawValue)
        self.init(adopting: descriptor, object: object)
    }

    private init(adopting descriptor: consuming OwnedDescriptor, object: String) {
        locking = FcntlLocking(fd: descriptor.rawValue, object: object, commands: .openFileDescription)
        self.descriptor = descriptor
    }

    /// Takes an `access` lock on `range`, waiting while another open file holds a
    /// conflicting one.
    ///
    /// The corresponding C call is `fcntl(fd, F_OFD_SETLKW, &lock)`.
    public func lock(_ access: LockAccess, range: LockRange = .wholeFile) throws(IPCError) {
        try locking.waiting(access, range).lock()
    }

    /// Takes the lock if no other open file holds a conflicting one; false
    /// otherwise (ask `conflict(_:range:)` who).
    ///
    /// The corresponding C call is `fcntl(fd, F_OFD_SETLK, &lock)`.
    public func tryLock(_ access: LockAccess, range: LockRange = .wholeFile) throws(IPCError) -> Bool {
        try locking.waiting(access, range).tryLock()
    }

    /// `lock(_:range:)`, waiting at most until `deadline`; throws `ETIMEDOUT`.
    ///
    /// The corresponding C call is `fcntl(fd, F_OFD_SETLKW, &lock)`, interrupted at the deadline.
    public func lock(_ access: LockAccess, range: LockRange = .wholeFile, until deadline: Deadline) throws(IPCError) {
        try locking.waiting(access, range).lock(until: deadline)
    }

    /// `lock(_:range:until:)` with a deadline `timeout` from now.
    public func lock(_ access: LockAccess, range: LockRange = .wholeFile, timeout: Duration) throws(IPCError) {
        try lock(access, range: range, until: .after(timeout))
    }

    /// `lock(_:range:)` without blocking a thread of the cooperative pool: the wait
    /// runs on a worker of the library's own. Throws `CancellationError` promptly
    /// when the task is cancelled, having taken nothing.
    ///
    /// The corresponding C call is `fcntl(fd, F_OFD_SETLKW, &lock)`, on a worker.
    public func lockAsync(_ access: LockAccess, range: LockRange = .wholeFile) async throws {
        try await locking.waiting(access, range).lockAsync(until: .distantFuture)
    }

    /// `lockAsync(_:range:)`, waiting at most until `deadline`; throws `ETIMEDOUT`.
    public func lockAsync(_ access: LockAccess, range: LockRange = .wholeFile, until deadline: Deadline) async throws {
        try await locking.waiting(access, range).lockAsync(until: deadline)
    }

    /// `lockAsync(_:range:until:)` with a deadline `timeout` from now.
    public func lockAsync(_ access: LockAccess, range: LockRange = .wholeFile, timeout: Duration) async throws {
        try await lockAsync(access, range: range, until: .after(timeout))
    }

    /// Releases this open file's locks on `range` (which may split a larger lock).
    ///
    /// The corresponding C call is `fcntl(fd, F_OFD_SETLK, &lock)` with `F_UNLCK`.
    public func unlock(range: LockRange = .wholeFile) throws(IPCError) {
        try locking.unlock(range)
    }

    /// The first lock of another open file (or a POSIX lock of any process)
    /// that would stop an `access` lock on `range`; nil when it could be taken now.
    ///
    /// The corresponding C call is `fcntl(fd, F_OFD_GETLK, &lock)`.
    public func conflict(_ access: LockAccess, range: LockRange = .wholeFile) throws(IPCError) -> LockConflict? {
        try locking.conflict(access, range)
    }
}
