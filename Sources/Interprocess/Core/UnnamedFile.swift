import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Files made complete before they have a name (SPEC Y1, Y10, M5): the content
/// goes into an unnamed file — `open(DIRECTORY, O_TMPFILE | O_RDWR)` — which
/// `linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, PATH, AT_SYMLINK_FOLLOW)` then
/// puts at its path in one step, failing with `EEXIST` when the path is taken. So
/// nobody ever opens a half-made file, and a process killed halfway leaves
/// nothing behind. Named semaphores, lock files and named channels are made so.
enum UnnamedFile {
    /// An unnamed file in `directory`, or nil when the filesystem or kernel has
    /// none (`EOPNOTSUPP`; `EISDIR` or `EINVAL` from one without `O_TMPFILE`).
    /// The process umask applies to `permissions`.
    static func create(in directory: FilePath, permissions: FilePermissions, operation: String) throws(IPCError) -> OwnedDescriptor? {
        let fd = directory.withPlatformString {
            system_openat(AT_FDCWD, $0, cipc_o_tmpfile() | O_RDWR | O_CLOEXEC, permissions.rawValue)
        }
        if fd >= 0 { return OwnedDescriptor(adoptingRaw: fd) }
        let code = lastErrno
        if code == EOPNOTSUPP || code == EISDIR || code == EINVAL { return nil }
        throw IPCError.last(operation, path: directory, detail: "cannot make an unnamed file in the directory")
    }

    /// Gives the unnamed file `fd` the name `path`: true, or false when the path
    /// is taken (`EEXIST`); other failures throw.
    static func link(_ fd: CInt, at path: FilePath, operation: String) throws(IPCError) -> Bool {
        let linked = "/proc/self/fd/\(fd)".withCString { source in
            path.withPlatformString { system_linkat(AT_FDCWD, source, AT_FDCWD, $0, AT_SYMLINK_FOLLOW) }
        }
        if linked == 0 { return true }
        if lastErrno == EEXIST { return false }
        throw IPCError.last(operation, path: path, detail: "giving the new file its name")
    }
}
