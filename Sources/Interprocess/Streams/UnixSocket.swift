import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A Unix domain socket (SPEC S3, S7): one end of a socket pair, a connection to
/// or from a listener, or a datagram socket — it owns its descriptor.
///
/// ```swift
/// let socket = try UnixSocket.connect(to: "/run/app.sock")
/// try socket.write(all: Array("hello".utf8))
/// let reply = try socket.read(upTo: 64)
/// ```
///
/// - **Byte streams** (`.stream`): `read`/`write` and their deadline and async
///   forms; it conforms to `ByteStreamReader`/`ByteStreamWriter` for framing.
/// - **Messages** (`.seqPacket`, `.datagram`): `send`/`receive` keep message
///   boundaries; a message larger than the buffer throws `EMSGSIZE`, never
///   silently truncated. Datagram sockets `send(_:to:)` and `receiveFrom`.
/// - **Descriptors** travel with `send(_:descriptors:)` and
///   `receive(into:descriptorLimit:)` (SCM_RIGHTS).
/// - **Credentials** of the peer: `peerCredentials` (SO_PEERCRED).
///
/// Every send uses `MSG_NOSIGNAL`: writing to a peer that went away throws `EPIPE`
/// (or `ECONNRESET`) and never kills the process. Every descriptor is
/// close-on-exec. Blocking calls come in three forms: blocking, time-bounded
/// (`until: Deadline`, throwing `ETIMEDOUT`) and `async` (never blocks a thread of
/// the cooperative pool, ends with `CancellationError` when the task is cancelled).
public struct UnixSocket: ~Copyable, Sendable {
    /// The kind of a Unix socket.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// A reliable byte stream without message boundaries (`SOCK_STREAM`).
        case stream
        /// Reliable, ordered messages with boundaries, over a connection
        /// (`SOCK_SEQPACKET`).
        case seqPacket
        /// Messages with boundaries, connected or addressed one by one
        /// (`SOCK_DGRAM`). Reliable and ordered on Unix sockets.
        case datagram

        var socketType: CInt {
            switch self {
            case .stream: return CInt(SOCK_STREAM.rawValue)
            case .seqPacket: return CInt(SOCK_SEQPACKET.rawValue)
            case .datagram: return CInt(SOCK_DGRAM.rawValue)
            }
        }

        init?(socketType: CInt) {
            switch socketType {
            case CInt(SOCK_STREAM.rawValue): self = .stream
            case CInt(SOCK_SEQPACKET.rawValue): self = .seqPacket
            case CInt(SOCK_DGRAM.rawValue): self = .datagram
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .stream: return "stream"
            case .seqPacket: return "seqpacket"
            case .datagram: return "datagram"
            }
        }
    }

    /// Which direction `shutdown` closes.
    public enum ShutdownDirection: Sendable, Hashable {
        /// No more receiving (`SHUT_RD`).
        case read
        /// No more sending; the peer reads end of file (`SHUT_WR`).
        case write
        /// Both (`SHUT_RDWR`).
        case both
    }

    /// The descriptor, for polling, flags or handing to a child with `Spawn`.
    public let descriptor: OwnedDescriptor
    public let kind: Kind
    /// The socket file this socket created, removed at close when asked.
    let link: SocketFileLink

    init(_ descriptor: consuming OwnedDescriptor, kind: Kind, link: consuming SocketFileLink = SocketFileLink()) {
        self.descriptor = descriptor
        self.kind = kind
        self.link = link
    }

    /// A new socket that is neither bound nor connected, close-on-exec. Useful as
    /// a datagram socket that only sends with `send(_:to:)`.
    ///
    /// The corresponding C function is `socket(AF_UNIX, …)`.
    public init(_ kind: Kind) throws(IPCError) {
        self.init(try Self.makeDescriptor(kind), kind: kind)
    }

    /// Takes ownership of a descriptor that is a Unix socket (for example one a
    /// parent process handed down: `UnixSocket(adopting: OwnedDescriptor(
    /// inheritedNumber: 3))`); its kind is read from the socket. Throws
    /// `ENOTSOCK` for a descriptor that is not a socket and `EAFNOSUPPORT` for a
    /// socket of another family. The descriptor is closed when this fails.
    public init(adopting descriptor: consuming OwnedDescriptor) throws(IPCError) {
        let fd = descriptor.rawValue
        let domain = try socketOption(fd, SO_DOMAIN, "getsockopt(SO_DOMAIN)")
        if domain != AF_UNIX {
            throw IPCError(.addressFamilyNotSupported, operation: "UnixSocket", object: IPCError.describe(fd: fd),
                           detail: "the socket is not a Unix domain socket (family \(domain))")
        }
        let type = try socketOption(fd, SO_TYPE, "getsockopt(SO_TYPE)")
        guard let kind = Kind(socketType: type) else {
            throw IPCError(.protocolNotSupported, operation: "UnixSocket", object: IPCError.describe(fd: fd),
                           detail: "unknown socket type \(type)")
        }
        LibrarySignals.ignoreBrokenPipe()
        self.init(descriptor, kind: kind)
    }

    static func makeDescriptor(_ kind: Kind, nonBlocking: Bool = false) throws(IPCError) -> OwnedDescriptor {
        LibrarySignals.ignoreBrokenPipe()
        var type = kind.socketType | CInt(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= CInt(SOCK_NONBLOCK.rawValue) }
        let fd = system_socket(AF_UNIX, type, 0)
        if fd < 0 { throw IPCError.last("socket", detail: "AF_UNIX, \(kind)") }
        return OwnedDescriptor(adoptingRaw: fd)
    }

    /// Closes the socket, reporting errors; then removes its socket file if it was
    /// bound with `removeOnClose` (and the file is still the one it created).
    public consuming func close() throws(IPCError) {
        try descriptor.close()
    }

    /// Stops receiving, sending or both, without closing the descriptor. After
    /// `.write` the peer reads end of file (streams) or a 0-byte read (seqpacket).
    ///
    /// The corresponding C function is `shutdown`.
    public func shutdown(_ direction: ShutdownDirection) throws(IPCError) {
        let how: CInt
        switch direction {
        case .read: how = CInt(SHUT_RD)
        case .write: how = CInt(SHUT_WR)
        case .both: how = CInt(SHUT_RDWR)
        }
        if system_shutdown(descriptor.rawValue, how) != 0 { throw IPCError.last("shutdown", fd: descriptor.rawValue) }
    }

    /// The address this socket is bound to (`.unnamed` if it is not).
    ///
    /// The corresponding C function is `getsockname`.
    public var localAddress: UnixSocketAddress {
        get throws(IPCError) {
            let (rc, address) = UnixSocketAddress.receiving { system_getsockname(descriptor.rawValue, $0, $1) }
            if rc != 0 { throw IPCError.last("getsockname", fd: descriptor.rawValue) }
            return address
        }
    }

    /// The address of the connected peer (`.unnamed` for an unbound peer); throws
    /// `ENOTCONN` when not connected.
    ///
    /// The corresponding C function is `getpeername`.
    public var peerAddress: UnixSocketAddress {
        get throws(IPCError) {
            let (rc, address) = UnixSocketAddress.receiving { system_getpeername(descriptor.rawValue, $0, $1) }
            if rc != 0 { throw IPCError.last("getpeername", fd: descriptor.rawValue) }
            return address
        }
    }
}

/// An integer socket option at `SOL_SOCKET`.
func socketOption(_ fd: CInt, _ name: CInt, _ operation: String) throws(IPCError) -> CInt {
    var value: CInt = 0
    var length = socklen_t(MemoryLayout<CInt>.size)
    if system_getsockopt(fd, SOL_SOCKET, name, &value, &length) != 0 { throw IPCError.last(operation, fd: fd) }
    return value
}
