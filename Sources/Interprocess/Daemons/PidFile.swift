import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A pid file holding an exclusive record lock: one instance of a program at a
/// time (SPEC P5).
///
/// The file holds this process's pid (`"4242\n"`) while the process holds an
/// exclusive POSIX record lock (`fcntl(F_SETLK)`, `RecordLock`) on all of it. A
/// second instance cannot take the lock and throws `EAGAIN` naming the first
/// one's pid (asked of the kernel with `F_GETLK`, not read from the file). The
/// kernel releases the lock when the holder exits or is killed, even by SIGKILL:
/// nothing stale is left to recognise, and the next instance simply takes it.
///
/// ```swift
/// let pidFile = try PidFile(name: "served")   // /run/served.pid as root
/// ```
///
/// The file itself is never removed: unlinking a locked file lets a newcomer lock
/// a fresh file of the same name while a third process still waits on the old
/// one, and two instances would run. Its content means something only while it is
/// locked; `PidFile.holder(at:)` asks the lock, not the content.
///
/// It is a `RecordLock`, with its rules: released when this process closes any
/// descriptor of the file (the library never does, see `Locks/README.md`), not
/// inherited by the programs this one starts.
public struct PidFile: ~Copyable, Sendable {
    /// Where the file is.
    public let path: FilePath
    private let lock: RecordLock

    /// The directory for runtime files: `/run` for root (effective uid 0),
    /// `$XDG_RUNTIME_DIR` otherwise; `ENOENT` when that variable is unset.
    public static func runtimeDirectory() throws(IPCError) -> FilePath {
        if geteuid() == 0 { return "/run" }
        guard let value = getenv("XDG_RUNTIME_DIR"), value.pointee != 0 else {
            throw IPCError(.noSuchFileOrDirectory, operation: "PidFile.runtimeDirectory",
                           detail: "XDG_RUNTIME_DIR is not set: name the directory of the pid file")
        }
        return FilePath(String(cString: value))
    }

    /// Locks `NAME.pid` in `directory` (the `runtimeDirectory()` when nil).
    public init(name: String, directory: FilePath? = nil) throws(IPCError) {
        let chosen: FilePath
        if let directory { chosen = directory } else { chosen = try PidFile.runtimeDirectory() }
        try self.init(path: chosen.appending(name + ".pid"))
    }

    /// Opens or creates (mode 0644) the file at `path`, takes the exclusive lock
    /// and writes this process's pid into it. `EAGAIN` naming the holder's pid when
    /// another process holds it.
    ///
    /// The corresponding C calls are `open`, `fcntl(F_SETLK)` (`F_GETLK` on a
    /// conflict), `ftruncate` and `pwrite`.
    public init(path: FilePath) throws(IPCError) {
        let lock = try RecordLock(path: path, permissions: [.ownerReadWrite, .groupRead, .otherRead])
        // The holder may let go between F_SETLK and F_GETLK: then try again.
        while try !lock.tryLock(.exclusive) {
            if let holder = try lock.conflict(.exclusive)?.holderPID {
                throw IPCError(.resourceTemporarilyUnavailable, operation: "PidFile", object: IPCError.describe(path: path),
                               detail: "another instance is running: pid \(holder) holds the lock")
            }
        }
        let fd = lock.descriptor.rawValue
        let text = Array("\(getpid())\n".utf8)
        if system_ftruncate(fd, 0) != 0 { throw IPCError.last("ftruncate", path: path, detail: "emptying the pid file") }
        let written = text.withUnsafeBytes { system_pwrite(fd, $0.baseAddress, $0.count, 0) }
        if written != text.count {
            throw written < 0 ? IPCError.last("pwrite", path: path, detail: "writing the pid")
                : IPCError(.noSpace, operation: "pwrite", object: IPCError.describe(path: path), detail: "the pid was written in part")
        }
        self.path = path
        self.lock = lock
    }

    /// The pid of the process holding the pid file at `path`; nil when nobody does
    /// (or the caller itself: a process never conflicts with its own locks), or
    /// when there is no file.
    ///
    /// The corresponding C calls are `open(O_RDONLY)` and `fcntl(F_GETLK)`.
    public static func holder(at path: FilePath) throws(IPCError) -> pid_t? {
        let fd = path.withPlatformString { system_open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0) }
        if fd < 0 {
            if lastErrno == ENOENT { return nil }
            throw IPCError.last("open", path: path, detail: "opening the pid file")
        }
        // Closing a descriptor of a file this process has POSIX locks on drops them.
        defer { PosixLockRegistry.closeLibraryDescriptor(fd) }
        let locking = FcntlLocking(fd: fd, object: IPCError.describe(path: path), commands: .posix)
        return try locking.conflict(.exclusive, .wholeFile)?.holderPID
    }
}
