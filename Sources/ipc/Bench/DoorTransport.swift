import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `door`: a door call round trip (SPEC R6). The child serves an echo `Door`
/// whose procedure replies the arguments in place; it hands a connection to it
/// (`Door.handOut()`) to the parent over the socket pair it inherits as
/// descriptor 3, and the parent calls it (`DoorClient(adopting:)`).
///
/// A door has no one-way send: `send` keeps the message, `receive` makes the call
/// with it and copies the result into its buffer. Messages sent without a
/// receive (the throughput stream's DATA) are each called as the next one is
/// sent, their result dropped, so every message is one call. The child's own
/// loop only waits for the procedure to have answered QUIT.
struct DoorTransport: ~Copyable, BenchTransport {
    static let name = "door"
    static var maximumMessageSize: Int? { 65536 }

    /// Parent: the client, and the message sent and not yet called (count -1: none).
    /// In allocated memory rather than in a class (see `ChannelTransport`).
    private let client: UnsafeMutablePointer<DoorClient>?
    private let pending: UnsafeMutablePointer<UnsafeRawBufferPointer?>
    /// Child: the door, and the pipe its procedure writes to once it answered QUIT.
    private let door: Door?
    private let quitReader: CInt

    private init(client: consuming DoorClient) {
        self.client = .allocate(capacity: 1)
        self.client!.initialize(to: client)
        pending = .allocate(capacity: 1)
        pending.initialize(to: nil)
        door = nil
        quitReader = -1
    }

    private init(door: Door, quitReader: CInt) {
        client = nil
        pending = .allocate(capacity: 1)
        pending.initialize(to: nil)
        self.door = door
        self.quitReader = quitReader
    }

    deinit {
        if let client {
            client.deinitialize(count: 1)
            client.deallocate()
        }
        pending.deallocate()
        door?.close()
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> DoorTransport {
        let pair = try UnixSocketPair(.seqPacket)
        try peer.inherit(pair.second.descriptor, as: 3)
        try peer.start()
        // The child's copy went with the start: a child that dies first is end of file.
        var buffer = [UInt8](repeating: 0, count: 16)
        var message = try pair.first.receive(into: &buffer, descriptorLimit: 1, until: .after(.seconds(30)))
        guard message.count > 0, let descriptor = message.descriptors.takeNext() else {
            throw IPCError(.connectionReset, operation: "door bench", detail: "the responder ended before it handed out its door")
        }
        return DoorTransport(client: try DoorClient(adopting: descriptor))
    }

    static func responder(objects: [String]) throws(IPCError) -> DoorTransport {
        try responder(objects: objects, fault: nil)
    }

    /// The fault strikes in the procedure, where the calls are: the child's own
    /// loop sees one message, QUIT.
    static func responder(objects: [String], fault: BenchPeerFault?) throws(IPCError) -> DoorTransport {
        let parent = try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: 3))
        // A plain pipe: its write end is a number the procedure can capture.
        var quit: [CInt] = [-1, -1]
        if pipe(&quit) != 0 { throw IPCError(Errno(rawValue: errno), operation: "pipe") }
        let quitWriter = quit[1]
        let calls = UnsafeMutablePointer<Int>.allocate(capacity: 1)  // only the session's thread counts
        calls.initialize(to: 0)
        let counter = UncheckedPointer(calls)
        let door = try Door(name: "bench-echo", options: DoorOptions(maximumMessageSize: maximumMessageSize!)) { call in
            let count = call.argumentCount
            let arguments = call.withArguments { span in span.withUnsafeBytes { $0 } }
            counter.pointer.pointee += 1
            if let fault, counter.pointer.pointee >= fault.afterMessages { fault.strike() }
            try call.reply(count: count) { $0.copyMemory(from: arguments) }
            if count > 0, arguments[0] == BenchTag.quit.rawValue {
                var one: UInt8 = 1
                _ = write(quitWriter, &one, 1)
            }
        }
        try parent.send([0], descriptor: try door.handOut())
        return DoorTransport(door: door, quitReader: quit[0])
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        guard let client else { return }  // the child: its procedure has answered
        if let earlier = pending.pointee { try call(client, earlier, result: nil) }
        pending.pointee = message
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        guard let client else { return try waitForQuit(message) }
        guard let outgoing = pending.pointee else {
            throw .transport(IPCError(.invalidArgument, operation: "door bench", detail: "a receive with no message sent"))
        }
        pending.pointee = nil
        try call(client, outgoing, result: message)
    }

    /// One call: `arguments` copied in; the result copied into `result` (dropped when nil).
    @inline(__always)
    private func call(_ client: UnsafeMutablePointer<DoorClient>, _ arguments: UnsafeRawBufferPointer,
                      result: UnsafeMutableRawBufferPointer?) throws(BenchError) {
        let received: Int
        do {
            received = try client.pointee.call(count: arguments.count, writing: { $0.copyMemory(from: arguments) }, reading: { bytes, _ in
                if let result { result.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: Swift.min(bytes.count, result.count)) }
                return bytes.count
            })
        } catch {
            throw .transport(error as? IPCError ?? IPCError(.ioError, operation: "door_call"))
        }
        if received != arguments.count {
            throw .transport(IPCError(.badMessage, operation: "door_call", detail: "a \(received)-byte result for \(arguments.count) bytes of arguments"))
        }
    }

    /// The child's loop: the procedure answered QUIT (or the parent is gone).
    private func waitForQuit(_ message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        var byte: UInt8 = 0
        var count = read(quitReader, &byte, 1)
        while count < 0 && errno == EINTR { count = read(quitReader, &byte, 1) }
        if count < 0 { throw .transport(IPCError(Errno(rawValue: errno), operation: "read", object: "the door's quit pipe")) }
        if count == 0 { throw .peerClosed }
        message[0] = BenchTag.quit.rawValue
    }
}

/// A pointer the procedure (a `@Sendable` closure) may hold: only the door's one
/// session thread uses it.
private struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int>
    init(_ pointer: UnsafeMutablePointer<Int>) { self.pointer = pointer }
}
