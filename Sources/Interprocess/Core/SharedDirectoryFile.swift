#if canImport(Glibc)
import Glibc
#endif

/// The checks every open of a file in a directory other users can write (/dev/shm)
/// makes, so that whatever a user put there under a name is an error, never a wait
/// or a crash (DESIGN, principle 5).
///
/// The file is opened with `O_NONBLOCK` (a FIFO would otherwise wait for a writer)
/// and `O_NOFOLLOW` (a symbolic link is refused with `ELOOP`), then `fstat`'ed: only a
/// regular file is accepted. A directory is `EISDIR`; a FIFO, socket or device is
/// `EINVAL`; the detail says what the name is.
enum SharedDirectoryFile {
    /// Throws unless `fd` is a regular file; returns what `fstat` says about it.
    /// `noun` names what a regular file there would be ("shared memory object").
    static func requireRegularFile(_ fd: CInt, operation: String, object: String, noun: String) throws(IPCError) -> stat {
        var status = stat()
        if system_fstat(fd, &status) != 0 { throw IPCError.last("fstat", object: object) }
        let type = status.st_mode & S_IFMT
        if type == S_IFREG { return status }
        throw IPCError(type == S_IFDIR ? .isDirectory : .invalidArgument, operation: operation, object: object,
                       detail: "is \(describe(type: type)), not a \(noun)")
    }

    /// The detail for an `open` of such a file that failed with `code`, if the
    /// errno alone would mislead: `ELOOP` from `O_NOFOLLOW` means a symbolic link;
    /// `ENXIO` (a socket), `EISDIR` (a directory, opened for writing) and `EINVAL`
    /// (what `shm_open` turns `EISDIR` into) say what the name at `path` is, read
    /// with `fstatat(AT_SYMLINK_NOFOLLOW)`.
    static func explainOpenFailure(_ code: CInt, noun: String, path: [CChar]) -> String? {
        if code == ELOOP { return "is a symbolic link, not a \(noun) (links there are not followed)" }
        guard code == ENXIO || code == EISDIR || code == EINVAL else { return nil }
        var status = stat()
        let found = path.withUnsafeBufferPointer { system_fstatat(AT_FDCWD, $0.baseAddress!, &status, AT_SYMLINK_NOFOLLOW) }
        let type = status.st_mode & S_IFMT
        guard found == 0, type != S_IFREG else { return nil }
        return "is \(describe(type: type)), not a \(noun)"
    }

    /// "a FIFO", "a directory", … for the `S_IFMT` bits of a mode.
    static func describe(type: mode_t) -> String {
        switch type {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFLNK: "a symbolic link"
        default: "a file of type \(String(type, radix: 8))"
        }
    }

    /// Clears `O_NONBLOCK` again once the file is known to be regular, so the
    /// descriptor handed out (or to a child) carries no surprise flag.
    static func clearNonBlocking(_ fd: CInt, object: String) throws(IPCError) {
        let flags = system_fcntl(fd, F_GETFL)
        if flags < 0 { throw IPCError.last("fcntl(F_GETFL)", object: object) }
        if system_fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 { throw IPCError.last("fcntl(F_SETFL)", object: object) }
    }
}
