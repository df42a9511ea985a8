import Interprocess

/// `pipe`: two anonymous pipes, one each way (refbench's `pipe`). The child gets the
/// read end of the first as descriptor 3 and the write end of the second as 4.
struct PipeTransport: ~Copyable, BenchTransport {
    static let name = "pipe"

    let reader: PipeReader
    let writer: PipeWriter

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> PipeTransport {
        let toResponder = try Pipe(), toInitiator = try Pipe()
        try peer.inherit(toResponder.reader.descriptor, as: 3)
        try peer.inherit(toInitiator.writer.descriptor, as: 4)
        try peer.start()
        // The child's ends (toResponder.reader, toInitiator.writer) close on return.
        return PipeTransport(reader: toInitiator.reader, writer: toResponder.writer)
    }

    static func responder(objects: [String]) throws(IPCError) -> PipeTransport {
        try PipeTransport(reader: PipeReader(adopting: OwnedDescriptor(inheritedNumber: 3)), writer: PipeWriter(adopting: OwnedDescriptor(inheritedNumber: 4)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try sendAll(writer, message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try receiveAll(reader, into: message) }
}
