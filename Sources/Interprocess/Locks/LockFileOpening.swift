import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Opens the file a lock type locks: read-write (a shared fcntl lock needs read
/// access, an exclusive one write access), created when missing with
/// `permissions`, close-on-exec, never through a symbolic link (`O_NOFOLLOW`).
func openFileToLock(_ path: FilePath, permissions: FilePermissions) throws(IPCError) -> OwnedDescriptor {
    let fd = path.withPlatformString { system_open($0, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, permissions.rawValue) }
    if fd < 0 {
        let code = lastErrno
        throw IPCError(Errno(rawValue: code), operation: "open", object: IPCError.describe(path: path),
                       detail: code == ELOOP ? "the path is a symbolic link, which a lock never follows" : "opening the file to lock")
    }
    return OwnedDescriptor(adoptingRaw: fd)
}
