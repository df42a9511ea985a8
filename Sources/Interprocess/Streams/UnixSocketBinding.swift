import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How a Unix socket is bound to a path (SPEC S7). The defaults are the safe ones:
/// mode 0600, an existing file is never replaced, the socket file stays after
/// close.
public struct UnixSocketBindOptions: Sendable, Hashable {
    /// The permission bits of the socket file. Connecting (or sending a datagram)
    /// needs write permission. The socket file never exists with looser bits than
    /// these, not even for an instant; a umask that takes bits away is overridden
    /// right after `bind`, so the file ends with exactly this mode.
    public var mode: FilePermissions
    /// When the path is taken by a socket nobody listens on any more (connecting
    /// to it gives `ECONNREFUSED`), remove it and bind again. Any other file, and a
    /// live socket, are left alone (`EADDRINUSE`).
    public var replacingStaleSocket: Bool
    /// Remove the socket file when the socket or listener is closed — only if the
    /// path still names the file this socket created.
    public var removeOnClose: Bool

    public init(mode: FilePermissions = [.ownerRead, .ownerWrite], replacingStaleSocket: Bool = false, removeOnClose: Bool = false) {
        self.mode = mode
        self.replacingStaleSocket = replacingStaleSocket
        self.removeOnClose = removeOnClose
    }
}

/// The socket file a bound socket created; removes it at the end of its life when
/// asked to, but only while the path still names that same file (device and inode).
struct SocketFileLink: ~Copyable, Sendable {
    let path: FilePath?
    let device: UInt64
    let inode: UInt64
    var removeOnDestroy: Bool

    init() {
        path = nil
        device = 0
        inode = 0
        removeOnDestroy = false
    }

    init(path: FilePath, device: UInt64, inode: UInt64, removeOnDestroy: Bool) {
        self.path = path
        self.device = device
        self.inode = inode
        self.removeOnDestroy = removeOnDestroy
    }

    deinit {
        guard removeOnDestroy, let path else { return }
        path.withPlatformString { text in
            var info = stat()
            if system_fstatat(AT_FDCWD, text, &info, AT_SYMLINK_NOFOLLOW) == 0,
               UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode {
                _ = system_unlinkat(AT_FDCWD, text, 0)
            }
        }
    }
}

/// Binds `fd` to `address` with the safe defaults of `UnixSocketBindOptions`.
///
/// For a path: the socket's own inode gets `mode` (`fchmod` on the socket, which
/// Linux uses as the mode of the file `bind` creates, minus the umask), so the
/// file is born with at most `mode`; bits the umask removed are put back after.
func bindSocket(_ fd: CInt, kind: UnixSocket.Kind, to address: UnixSocketAddress, options: UnixSocketBindOptions) throws(IPCError) -> SocketFileLink {
    guard let path = address.path else {
        if address.withSockaddr({ system_bind(fd, $0, $1) }) != 0 {
            throw IPCError.last("bind", object: address.errorDescription)
        }
        return SocketFileLink()
    }
    let mode = options.mode.rawValue
    if mode & ~0o777 != 0 {
        throw IPCError(.invalidArgument, operation: "bind", object: IPCError.describe(path: path),
                       detail: "socket file mode \(String(mode, radix: 8)) has bits beyond 0777")
    }
    if system_fchmod(fd, mode) != 0 { throw IPCError.last("fchmod", fd: fd, detail: "setting the socket file's mode before bind") }

    var replaced = false
    while address.withSockaddr({ system_bind(fd, $0, $1) }) != 0 {
        let error = IPCError.last("bind", path: path)
        guard error.errno == .addressInUse else { throw error }
        var detail = "the path exists; it is never replaced unless it is a stale socket and replacingStaleSocket is set"
        if options.replacingStaleSocket && !replaced {
            switch try removeStaleSocket(at: path, kind: kind) {
            case .removed:
                replaced = true
                continue
            case .live: detail = "a socket is listening there"
            case .notSocket: detail = "the path exists and is not a socket"
            }
        }
        throw IPCError(error.errno, operation: "bind", object: error.object, detail: detail)
    }

    // From here on the file is ours: remove it again if anything fails.
    var info = stat()
    let statResult = path.withPlatformString { system_fstatat(AT_FDCWD, $0, &info, AT_SYMLINK_NOFOLLOW) }
    if statResult != 0 {
        let error = IPCError.last("lstat", path: path)
        _ = path.withPlatformString { system_unlinkat(AT_FDCWD, $0, 0) }
        throw error
    }
    var link = SocketFileLink(path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), removeOnDestroy: true)
    if info.st_mode & 0o777 != mode {
        if path.withPlatformString({ system_fchmodat(AT_FDCWD, $0, mode) }) != 0 {
            throw IPCError.last("chmod", path: path)
        }
    }
    link.removeOnDestroy = options.removeOnClose
    return link
}

private enum StaleCheck { case removed, live, notSocket }

/// Removes the socket file at `path` only if nobody listens on it: a connection
/// attempt of the same kind is refused. Checks that the file did not change
/// between the probe and the removal.
private func removeStaleSocket(at path: FilePath, kind: UnixSocket.Kind) throws(IPCError) -> StaleCheck {
    var before = stat()
    if path.withPlatformString({ system_fstatat(AT_FDCWD, $0, &before, AT_SYMLINK_NOFOLLOW) }) != 0 {
        if lastErrno == ENOENT { return .removed }  // gone already: bind again
        throw IPCError.last("lstat", path: path)
    }
    guard before.st_mode & S_IFMT == S_IFSOCK else { return .notSocket }

    let probe = try UnixSocket.makeDescriptor(kind, nonBlocking: true)
    let address = try UnixSocketAddress(path: path, operation: "connect")
    let refused = address.withSockaddr { system_connect(probe.rawValue, $0, $1) } != 0 && lastErrno == ECONNREFUSED
    guard refused else { return .live }

    var after = stat()
    let same = path.withPlatformString { system_fstatat(AT_FDCWD, $0, &after, AT_SYMLINK_NOFOLLOW) } == 0
        && after.st_dev == before.st_dev && after.st_ino == before.st_ino
    guard same else { return .live }
    if path.withPlatformString({ system_unlinkat(AT_FDCWD, $0, 0) }) != 0 && lastErrno != ENOENT {
        throw IPCError.last("unlink", path: path, detail: "removing a stale socket")
    }
    return .removed
}

extension UnixSocket {
    /// A socket bound to `address`: a datagram socket that receives messages sent
    /// to that address (and whose sends carry it, so receivers can reply), or any
    /// kind before `connect`. For connection listeners use `UnixListener`.
    ///
    /// A path is bound with the safe defaults of `options` (mode 0600, never
    /// replacing an existing file: `EADDRINUSE`). Binding to `.unnamed` asks the
    /// kernel for a unique abstract name (autobind).
    /// The corresponding C functions are `socket` and `bind`.
    public static func bind(to address: UnixSocketAddress, kind: Kind = .datagram,
                            options: UnixSocketBindOptions = UnixSocketBindOptions()) throws(IPCError) -> UnixSocket {
        let descriptor = try makeDescriptor(kind)
        let link = try bindSocket(descriptor.rawValue, kind: kind, to: address, options: options)
        return UnixSocket(descriptor, kind: kind, link: link)
    }

    /// A socket bound to the socket file `path`; see `bind(to:kind:options:)`.
    public static func bind(to path: FilePath, kind: Kind = .datagram,
                            options: UnixSocketBindOptions = UnixSocketBindOptions()) throws(IPCError) -> UnixSocket {
        try bind(to: UnixSocketAddress(path: path, operation: "bind"), kind: kind, options: options)
    }
}
