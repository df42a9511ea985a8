import Interprocess

/// A connected pair of message sockets — `unix-seqpacket` or `unix-dgram` —
/// where one send is one message and one receive returns it whole (refbench's
/// `uds_seqpacket` and `uds_dgram`). The child gets its end as descriptor 3.
protocol UnixMessageTransport: ~Copyable, BenchTransport {
    static var kind: UnixSocket.Kind { get }
    var socket: UnixSocket { get }
    init(socket: consuming UnixSocket)
}

extension UnixMessageTransport where Self: ~Copyable {
    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> Self {
        let pair = try UnixSocketPair(kind)
        try peer.inherit(pair.second.descriptor, as: 3)
        // A datagram receive does not end when the peer closes: wake it ourselves.
        try peer.shutDownWhenChildEnds(pair.first)
        try peer.start()
        return Self(socket: pair.first)
    }

    static func responder(objects: [String]) throws(IPCError) -> Self {
        Self(socket: try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: 3)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        do { try socket.send(message) } catch { throw .transport(error) }
    }

    /// One message of exactly the run's size; a shorter one (0: the peer closed a
    /// seqpacket connection) ends the run.
    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        let count: Int
        do { count = try socket.receive(into: message) } catch { throw .transport(error) }
        if count != message.count { throw .peerClosed }
    }
}

/// `unix-seqpacket`: `socketpair(AF_UNIX, SOCK_SEQPACKET)`.
struct UnixSeqPacketTransport: ~Copyable, UnixMessageTransport {
    static let name = "unix-seqpacket"
    static let kind = UnixSocket.Kind.seqPacket
    let socket: UnixSocket
    init(socket: consuming UnixSocket) { self.socket = socket }
}

/// `unix-dgram`: `socketpair(AF_UNIX, SOCK_DGRAM)`.
struct UnixDatagramTransport: ~Copyable, UnixMessageTransport {
    static let name = "unix-dgram"
    static let kind = UnixSocket.Kind.datagram
    let socket: UnixSocket
    init(socket: consuming UnixSocket) { self.socket = socket }
}
