import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `fifo`: two named FIFOs in /tmp, one each way (refbench's `fifo`). Both sides
/// open them in the same order — parent-to-child first — so neither open waits for
/// the other forever; the parent's opens are time-bounded so a child that dies
/// before opening is an error, not a hang. The child unlinks both paths once it
/// has them open (both sides then have them), so an interrupted bench leaves no
/// FIFO behind; until then the parent's ledger has them.
struct FIFOTransport: ~Copyable, BenchTransport {
    static let name = "fifo"

    let reader: PipeReader
    let writer: PipeWriter

    static func paths(_ name: String) -> (toResponder: FilePath, toInitiator: FilePath) {
        (FilePath("/tmp/\(name).p2c.fifo"), FilePath("/tmp/\(name).c2p.fifo"))
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> FIFOTransport {
        let (toResponder, toInitiator) = paths(name)
        try peer.ledger.make(.path(toResponder.string)) { () throws(IPCError) in try FIFO.create(at: toResponder) }
        try peer.ledger.make(.path(toInitiator.string)) { () throws(IPCError) in try FIFO.create(at: toInitiator) }
        try peer.start(objects: [toResponder.string, toInitiator.string])
        let deadline = Deadline.after(.seconds(10))
        let writer = try FIFO.openForWriting(toResponder, until: deadline)
        let reader = try FIFO.openForReading(toInitiator, until: deadline)
        return FIFOTransport(reader: reader, writer: writer)
    }

    static func responder(objects: [String]) throws(IPCError) -> FIFOTransport {
        guard objects.count == 2 else {
            throw IPCError(.invalidArgument, operation: "bench-peer fifo", detail: "expected two FIFO paths")
        }
        let reader = try FIFO.openForReading(FilePath(objects[0]))
        let writer = try FIFO.openForWriting(FilePath(objects[1]))
        // This open returned once the parent had opened its end: both have both.
        try? FIFO.unlink(FilePath(objects[0]))
        try? FIFO.unlink(FilePath(objects[1]))
        return FIFOTransport(reader: reader, writer: writer)
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try sendAll(writer, message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try receiveAll(reader, into: message) }
}
