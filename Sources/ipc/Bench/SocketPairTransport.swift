import Interprocess

/// `socketpair`: one connected pair of Unix stream sockets, full duplex
/// (refbench's `socketpair`). The child gets its end as descriptor 3.
struct SocketPairTransport: ~Copyable, BenchTransport {
    static let name = "socketpair"

    let socket: UnixSocket

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SocketPairTransport {
        let pair = try UnixSocketPair(.stream)
        try peer.inherit(pair.second.descriptor, as: 3)
        try peer.start()
        // The child's end (pair.second) closes on return.
        return SocketPairTransport(socket: pair.first)
    }

    static func responder(objects: [String]) throws(IPCError) -> SocketPairTransport {
        SocketPairTransport(socket: try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: 3)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try sendAll(socket, message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try receiveAll(socket, into: message) }
}
