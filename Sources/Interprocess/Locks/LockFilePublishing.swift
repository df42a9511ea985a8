import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How a lock file is published (SPEC Y10): its content is written completely
/// before anything appears at the path, and `linkat` puts it there atomically,
/// failing with `EEXIST` on whatever is at the path (never following a link).
extension LockFile {
    /// Writes `content` to a new file in the directory of `path` and links it at
    /// `path`; its descriptor, or nil when something is already there.
    ///
    /// The content goes into an unnamed file — `openat(AT_FDCWD, DIRECTORY, O_TMPFILE | O_RDWR)`,
    /// then `linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, path, AT_SYMLINK_FOLLOW)` —
    /// so a process killed at any point leaves nothing in the directory. Only where
    /// the filesystem refuses unnamed files (`EOPNOTSUPP`; `EISDIR` or `EINVAL` from
    /// a kernel or filesystem without `O_TMPFILE`) a named file `NAME.PID.RANDOM.tmp`
    /// is created beside the path (`O_CREAT | O_EXCL | O_NOFOLLOW`), linked, then
    /// removed: a kill between the two leaves it behind.
    static func publish(_ content: [UInt8], at path: FilePath, permissions: FilePermissions) throws(IPCError) -> OwnedDescriptor? {
        let parent = path.removingLastComponent()
        guard let file = try UnnamedFile.create(in: parent.isEmpty ? FilePath(".") : parent, permissions: permissions,
                                                operation: "open(O_TMPFILE)") else {
            return try publishThroughNamedFile(content, at: path, permissions: permissions)
        }
        try write(content, to: file)
        if try !UnnamedFile.link(file.rawValue, at: path, operation: "linkat") { return nil }
        return file
    }

    /// The fallback: a named file `NAME.PID.RANDOM.tmp` beside `path`, linked at
    /// `path`, then removed.
    private static func publishThroughNamedFile(_ content: [UInt8], at path: FilePath, permissions: FilePermissions) throws(IPCError) -> OwnedDescriptor? {
        let name = (path.lastComponent?.string ?? "lock") + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let temporary = path.removingLastComponent().appending(name)
        let fd = temporary.withPlatformString {
            system_open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions.rawValue)
        }
        if fd < 0 { throw IPCError.last("open", path: temporary, detail: "creating the lock file's content beside it") }
        let file = OwnedDescriptor(adoptingRaw: fd)
        defer { _ = temporary.withPlatformString { system_unlinkat(AT_FDCWD, $0, 0) } }
        try write(content, to: file)
        let linked = temporary.withPlatformString { from in
            path.withPlatformString { to in system_linkat(AT_FDCWD, from, AT_FDCWD, to, 0) }
        }
        return try linkOutcome(linked, file, path)
    }

    private static func write(_ content: [UInt8], to file: borrowing OwnedDescriptor) throws(IPCError) {
        let written: Result<Void, IPCError> = content.withUnsafeBytes { bytes in
            do throws(IPCError) { try file.write(all: bytes); return .success(()) } catch { return .failure(error) }
        }
        try written.get()
    }

    /// The published file for a `linkat` that returned `linked`; nil for `EEXIST`.
    private static func linkOutcome(_ linked: CInt, _ file: consuming OwnedDescriptor, _ path: FilePath) throws(IPCError) -> OwnedDescriptor? {
        if linked == 0 { return file }
        if lastErrno == EEXIST { return nil }
        throw IPCError.last("linkat", path: path, detail: "publishing the lock file")
    }
}
