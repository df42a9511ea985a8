import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// POSIX record locks on an open file (SPEC Y8): shared or exclusive locks on byte
/// ranges, taken with `fcntl` `F_SETLK` / `F_SETLKW` and asked about with
/// `F_GETLK`.
///
/// **Owned by the process**, not by this value or its descriptor:
/// - released when the process exits or is killed, and when it closes *any*
///   descriptor of the file — its own, one opened elsewhere in the program, or one
///   a library opened and closed. Nothing in this library does that while a
///   `RecordLock` of the file is open (see `Locks/README.md`); other code can.
/// - never inherited: a child (spawned, or forked) holds none of them, even when
///   handed the descriptor.
/// - two threads of one process never conflict: a second lock of the same bytes
///   replaces the first (converts it), it does not wait.
/// - `F_SETLKW` detects deadlocks between processes and fails with `EDEADLK`.
///
/// For new code prefer `OpenFileLock`: the same ranges, owned by the open file,
/// without the close trap. A `RecordLock` interoperates with other programs'
/// `fcntl(F_SETLK)` and `lockf` locks on the same file.
public struct RecordLock: ~Copyable, Sendable {
    /// The open file the locks are taken through.
    public let descriptor: OwnedDescriptor
    let locking: FcntlLocking
    private let registration: PosixLockRegistry.FileKey?

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
        locking = FcntlLocking(fd: descriptor.rawValue, object: object, commands: .posix)
        registration = PosixLockRegistry.register(descriptor.rawValue)
        self.descriptor = descriptor
    }

    deinit {
        if let registration { PosixLockRegistry.unregister(registration) }
    }

    /// Takes an `access` lock on `range`, waiting while another process holds a
    /// conflicting one; throws `EDEADLK` when waiting would deadlock.
    ///
    /// The corresponding C call is `fcntl(fd, F_SETLKW, &lock)`.
    public func lock(_ access: LockAccess, range: LockRange = .wholeFile) throws(IPCError) {
        try locking.waiting(access, range).lock()
    }

    /// Takes the lock if no other process holds a conflicting one; false
    /// otherwise (ask `conflict(_:range:)` who).
    ///
    /// The corresponding C call is `fcntl(fd, F_SETLK, &lock)`.
    public func tryLock(_ access: LockAccess, range: LockRange = .wholeFile) throws(IPCError) -> Bool {
        try locking.waiting(access, range).tryLock()
    }

    /// `lock(_:range:)`, waiting at most until `deadline`; throws `ETIMEDOUT`.
    ///
    /// The corresponding C call is `fcntl(fd, F_SETLKW, &lock)`, interrupted at the deadline.
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
    /// The corresponding C call is `fcntl(fd, F_SETLKW, &lock)`, on a worker.
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

    /// Releases this process's locks on `range` (which may split a larger lock).
    ///
    /// The corresponding C call is `fcntl(fd, F_SETLK, &lock)` with `F_UNLCK`.
    public func unlock(range: LockRange = .wholeFile) throws(IPCError) {
        try locking.unlock(range)
    }

    /// The first lock of another process that would stop an `access` lock on
    /// `range`, with its holder's pid; nil when it could be taken now.
    ///
    /// The corresponding C call is `fcntl(fd, F_GETLK, &lock)`.
    public func conflict(_ access: LockAccess, range: LockRange = .wholeFile) throws(IPCError) -> LockConflict? {
        try locking.conflict(access, range)
    }
}
