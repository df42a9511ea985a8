import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// Two connected Unix sockets: a full-duplex channel, each end both reads and
/// writes (SPEC S3). Typically one end stays and the other is handed to a child
/// with `Spawn.inherit(_:as:)`.
///
/// ```swift
/// let pair = try UnixSocketPair(.seqPacket)
/// var spawn = Spawn("/usr/bin/worker")
/// try spawn.inherit(pair.second.descriptor, as: 3)
/// var child = try spawn.start()
/// try pair.second.close()                  // so the worker's end is the worker's alone
/// try pair.first.send(Array("job".utf8))
///
/// // In the worker:
/// let socket = try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: 3))
/// ```
///
/// The peer credentials of either end are those of the process that created the
/// pair.
@frozen
public struct UnixSocketPair: ~Copyable {
    public let first: UnixSocket
    public let second: UnixSocket

    /// Creates two connected sockets of `kind`, both close-on-exec.
    ///
    /// The corresponding C function is `socketpair(AF_UNIX, …)`.
    public init(_ kind: UnixSocket.Kind = .stream) throws(IPCError) {
        LibrarySignals.ignoreBrokenPipe()
        var fds: (CInt, CInt) = (-1, -1)
        let type = kind.socketType | CInt(SOCK_CLOEXEC.rawValue)
        let rc = withUnsafeMutableBytes(of: &fds) { system_socketpair(AF_UNIX, type, 0, $0.baseAddress!.assumingMemoryBound(to: CInt.self)) }
        if rc != 0 { throw IPCError.last("socketpair", detail: "AF_UNIX, \(kind)") }
        first = UnixSocket(OwnedDescriptor(adoptingRaw: fds.0), kind: kind)
        second = UnixSocket(OwnedDescriptor(adoptingRaw: fds.1), kind: kind)
    }
}

extension UnixSocket {
    /// Two connected sockets of `kind` (SPEC S3); see `UnixSocketPair`.
    ///
    /// The corresponding C function is `socketpair(AF_UNIX, …)`.
    public static func pair(_ kind: Kind = .stream) throws(IPCError) -> UnixSocketPair {
        try UnixSocketPair(kind)
    }
}
