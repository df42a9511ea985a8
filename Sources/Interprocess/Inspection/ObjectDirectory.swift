import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// A directory where POSIX IPC objects live as files — /dev/shm, an mqueue
/// filesystem — read without changing anything in it (SPEC L2).
///
/// Names are the kernel's bytes, kept exact (another program may name an object
/// `/\xff\xfe`). A file is examined with `fstatat(AT_SYMLINK_NOFOLLOW)` before
/// anything else, and only a regular file is ever opened: with `O_NONBLOCK` and
/// `O_NOFOLLOW`, so that a FIFO or a link put in its place meanwhile neither blocks
/// the open nor is followed, and the descriptor's `fstat` must then show the same
/// regular file. Anyone can create files in these directories; nothing found there
/// is trusted.
struct ObjectDirectory: ~Copyable {
    let path: String
    private let stream: OpaquePointer

    /// The corresponding C function is `opendir`.
    init(_ path: String) throws(IPCError) {
        guard let stream = system_opendir(path) else { throw IPCError.last("opendir", object: IPCError.describe(path: path)) }
        self.path = path
        self.stream = stream
    }

    deinit { _ = system_closedir(stream) }

    /// The names of the files, exact, without "." and "..".
    ///
    /// The corresponding C function is `readdir`.
    func names() throws(IPCError) -> [[UInt8]] {
        try directoryEntryBytes(stream, path: path)
    }

    /// The file's status, not following a symbolic link; nil when it is gone.
    ///
    /// The corresponding C function is `fstatat` with `AT_SYMLINK_NOFOLLOW`.
    func status(of name: [UInt8]) -> stat? {
        var info = stat()
        let found = withCName(name) { system_fstatat(dirfd(stream), $0, &info, AT_SYMLINK_NOFOLLOW) } == 0
        return found ? info : nil
    }

    /// Opens the regular file `name` for reading, which `status(of:)` found as
    /// `expected`. With `keepingAccessTime`, a read leaves its access time alone
    /// (`O_NOATIME`: `EPERM` unless this process owns the file or has
    /// CAP_FOWNER). `ENOENT` when it is gone; `EINVAL` when it is no longer the
    /// same regular file.
    ///
    /// The corresponding C functions are `openat` and `fstat`.
    func openRegular(_ name: [UInt8], expected: stat, keepingAccessTime: Bool) throws(IPCError) -> OwnedDescriptor {
        var flags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC
        if keepingAccessTime { flags |= cipc_o_noatime() }
        let fd = withCName(name) { system_openat(dirfd(stream), $0, flags, 0) }
        let object = IPCError.describe(path: path + "/" + EscapedText.render(name))
        if fd < 0 { throw IPCError.last("open", object: object) }
        let file = OwnedDescriptor(adoptingRaw: fd)
        var info = stat()
        if system_fstat(fd, &info) != 0 { throw IPCError.last("fstat", object: object) }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_dev == expected.st_dev, info.st_ino == expected.st_ino else {
            throw IPCError(.invalidArgument, operation: "open", object: object, detail: "replaced while it was being listed")
        }
        return file
    }

    /// What a file that is not a regular file is, for the inventory's notes:
    /// "a FIFO", "a directory", "a symbolic link", …
    static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "not a regular file"
        }
    }

    private func withCName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (name + [0]).withUnsafeBufferPointer { bytes in bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }
}
