import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A lock file (SPEC Y10): a file whose existence means "taken", holding its
/// owner's identity — pid, start time and PID namespace (`ProcessIdentity`), so a
/// later process that reuses the pid is never taken for the owner.
///
/// **Taking it.** The identity is written to an unnamed file in the same directory
/// (`O_TMPFILE`), then published with `linkat`, which fails with `EEXIST` when
/// anything — a lock file, or a symbolic link somebody planted (CVE-2025-68146) —
/// is at the path, and never follows a link. So a lock file is never seen
/// half-written, nothing outside the directory is ever created, truncated or
/// written, and a process killed while taking it leaves nothing behind. Where the
/// filesystem has no unnamed files, a named one (`O_CREAT | O_EXCL | O_NOFOLLOW`)
/// is used instead and removed after the link (`publish`).
///
/// **A stale lock** (its owner exited, was killed, or its pid now belongs to
/// another process) is taken over: the contender opens it (`O_NOFOLLOW`), takes
/// a `flock` on that open file, checks that the path still names that very file
/// and that its owner is still gone, removes it, and tries again. The `flock`
/// serialises removers and `link` serialises creators, so of any number of
/// processes racing for a stale lock exactly one gets it.
///
/// **Prefer record locks** (`OpenFileLock`, `RecordLock`, `WholeFileLock`) when
/// you can: the kernel releases them when the holder dies, leaves nothing stale,
/// and can wait for them (blocking, time-bounded, async) — a lock file can only be
/// tried again. A lock file is for what a record lock cannot do: a lock visible
/// as a file (`ls`), on a filesystem without working locks, or holding text.
public struct LockFile: ~Copyable {
    /// The lock file.
    public let path: FilePath
    /// This process's own descriptor of the published file, to check at release
    /// that the path still names it.
    private let file: OwnedDescriptor

    /// Who holds a lock file, as written in it.
    public struct Holder: Equatable, Sendable, CustomStringConvertible {
        public var pid: pid_t
        let identity: ProcessIdentity
        /// Whether the holder still runs; nil when this process cannot tell
        /// (another PID namespace, /proc unreadable): such a lock is never taken over.
        public var isRunning: Bool? {
            switch identity.liveness {
            case .running: true
            case .gone: false
            case .unknown: nil
            }
        }
        public var description: String { "process \(pid)" }
    }

    /// Takes the lock file at `path`, taking over a stale one; nil when a running
    /// process holds it (`holder(at:)` tells which).
    ///
    /// The corresponding C calls are `openat(O_TMPFILE)` and `linkat`.
    public static func tryCreate(at path: FilePath, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(IPCError) -> LockFile? {
        let content = Array(Self.text(of: .current).utf8)
        // Each round either publishes, finds a live holder, or removes a stale
        // lock (which another round then replaces): bounded by the contenders.
        for _ in 0..<1000 {
            if let file = try publish(content, at: path, permissions: permissions) { return LockFile(path: path, file: file) }
            switch try inspect(path) {
            case .missing: continue
            case .held: return nil
            case .stale(let opened): try removeIfStillStale(opened, at: path)
            }
        }
        throw IPCError(.resourceTemporarilyUnavailable, operation: "link", object: IPCError.describe(path: path),
                       detail: "the lock file kept changing under 1000 attempts")
    }

    /// `tryCreate(at:)`, throwing `EEXIST` naming the holder instead of returning nil.
    public static func create(at path: FilePath, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(IPCError) -> LockFile {
        if let lock = try tryCreate(at: path, permissions: permissions) { return lock }
        let holder = (try? Self.holder(at: path)).flatMap { $0 }
        throw IPCError(.fileExists, operation: "link", object: IPCError.describe(path: path),
                       detail: "the lock is held by \(holder.map { "\($0)" } ?? "another process")")
    }

    /// The holder written in the lock file at `path`; nil when there is none.
    public static func holder(at path: FilePath) throws(IPCError) -> Holder? {
        let fd = path.withPlatformString { system_open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0) }
        if fd < 0 {
            if lastErrno == ENOENT { return nil }
            throw openError(path)
        }
        return try parse(OwnedDescriptor(adoptingRaw: fd), path)
    }

    /// Removes the lock file — if the path still names the file this value
    /// published (otherwise someone else removed or replaced it, and it is left).
    ///
    /// The corresponding C call is `unlink`.
    public consuming func release() throws(IPCError) {
        let stillOurs = Self.sameFile(file, path)
        if stillOurs, path.withPlatformString({ system_unlinkat(AT_FDCWD, $0, 0) }) != 0 {
            throw IPCError.last("unlink", path: path, detail: "releasing the lock file")
        }
        if !stillOurs {
            throw IPCError(.noSuchFileOrDirectory, operation: "unlink", object: IPCError.describe(path: path),
                           detail: "the lock file was removed or replaced by someone else while held")
        }
    }

    deinit {
        if Self.sameFile(file, path) { _ = path.withPlatformString { system_unlinkat(AT_FDCWD, $0, 0) } }
    }

    // MARK: steps

    private enum Found: ~Copyable {
        case missing, held
        case stale(OwnedDescriptor)
    }

    /// Reads the lock file at `path`: gone, held by a running (or unknowable)
    /// process, or stale (its open descriptor returned).
    private static func inspect(_ path: FilePath) throws(IPCError) -> Found {
        let fd = path.withPlatformString { system_open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0) }
        if fd < 0 {
            if lastErrno == ENOENT { return .missing }
            throw openError(path)
        }
        let file = OwnedDescriptor(adoptingRaw: fd)
        guard let holder = try parse(file, path) else { return .missing }
        return holder.isRunning == false ? .stale(file) : .held
    }

    /// Under a `flock` of the stale file, removes it if the path still names it
    /// and its owner is still gone.
    private static func removeIfStillStale(_ file: consuming OwnedDescriptor, at path: FilePath) throws(IPCError) {
        let lock = WholeFileLock(adopting: file)
        try lock.lock(.exclusive, timeout: .seconds(30))
        guard sameFile(lock.descriptor, path), try parse(lock.descriptor, path)?.isRunning == false else { return }
        if path.withPlatformString({ system_unlinkat(AT_FDCWD, $0, 0) }) != 0, lastErrno != ENOENT {
            throw IPCError.last("unlink", path: path, detail: "removing a stale lock file")
        }
    }

    static func text(of identity: ProcessIdentity) -> String {
        "\(identity.pid) \(identity.startTime) \(identity.pidNamespace)\n"
    }

    /// The holder written in `file`; throws `EINVAL` for a file that is not a lock
    /// file of this library (which is never taken over).
    private static func parse(_ file: borrowing OwnedDescriptor, _ path: FilePath) throws(IPCError) -> Holder? {
        var status = stat()
        if system_fstat(file.rawValue, &status) != 0 { throw IPCError.last("fstat", path: path) }
        if status.st_mode & S_IFMT != S_IFREG {
            throw IPCError(.invalidArgument, operation: "open", object: IPCError.describe(path: path), detail: "not a regular file: not a lock file")
        }
        if status.st_nlink == 0 { return nil }  // removed since it was opened
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = retryingInterrupts { buffer.withUnsafeMutableBytes { system_pread(file.rawValue, $0.baseAddress, $0.count, 0) } }
        if count < 0 { throw IPCError.last("pread", path: path, detail: "reading the lock file") }
        let bytes = buffer[0..<count]
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 3, let pid = pid_t(fields[0]), pid > 0, let start = UInt64(fields[1]), let namespace = UInt64(fields[2]) else {
            throw IPCError(.invalidArgument, operation: "read", object: IPCError.describe(path: path),
                           detail: "not a lock file of this library (expected \"PID START-TIME PID-NAMESPACE\"); remove it by hand if it is junk")
        }
        return Holder(pid: pid, identity: ProcessIdentity(pid: pid, startTime: start, pidNamespace: namespace))
    }

    private static func sameFile(_ file: borrowing OwnedDescriptor, _ path: FilePath) -> Bool {
        var opened = stat(), named = stat()
        guard system_fstat(file.rawValue, &opened) == 0,
              path.withPlatformString({ system_fstatat(AT_FDCWD, $0, &named, AT_SYMLINK_NOFOLLOW) }) == 0 else { return false }
        return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    private static func openError(_ path: FilePath) -> IPCError {
        let code = lastErrno
        return IPCError(Errno(rawValue: code), operation: "open", object: IPCError.describe(path: path),
                        detail: code == ELOOP ? "a symbolic link is at the lock file's path: refused, never followed" : "reading the lock file")
    }
}
