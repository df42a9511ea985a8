import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `unix-stream`: a Unix stream socket listening on a path in /tmp, which the child
/// connects to — the client–server set-up, measured once connected. The parent's
/// accept is time-bounded, so a child that dies before connecting is an error.
/// Once connected, the path is unlinked (the ledger has it until then).
struct UnixStreamTransport: ~Copyable, BenchTransport {
    static let name = "unix-stream"

    let socket: UnixSocket

    static func path(_ name: String) -> FilePath { FilePath("/tmp/\(name).sock") }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> UnixStreamTransport {
        let listener: UnixListener = try peer.ledger.make(.path(path(name).string)) { () throws(IPCError) in
            try UnixListener(path: path(name), kind: .stream, options: UnixSocketBindOptions(removeOnClose: true))
        }
        try peer.start(objects: [path(name).string])
        let socket = try listener.accept(until: .after(.seconds(10)))
        peer.ledger.removeAll()
        return UnixStreamTransport(socket: socket)
    }

    static func responder(objects: [String]) throws(IPCError) -> UnixStreamTransport {
        guard objects.count == 1 else {
            throw IPCError(.invalidArgument, operation: "bench-peer unix-stream", detail: "expected one socket path")
        }
        return UnixStreamTransport(socket: try UnixSocket.connect(to: FilePath(objects[0]), kind: .stream))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try sendAll(socket, message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try receiveAll(socket, into: message) }
}
