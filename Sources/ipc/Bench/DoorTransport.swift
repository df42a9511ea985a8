import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `door`: a door call (SPEC R1–R6) — the parent is the client, the child serves
/// an echo door whose procedure writes the result in place from the arguments in
/// place. The child hands the parent a connection to its door (`Door.handOut`)
/// over an inherited socket (descriptor 3), so the parent's calls carry its own
/// credentials and run on a session of their own, as any client's.
///
/// A door has no one-way message: every `send` here is a whole call, its result
/// kept for the `receive` that follows (a DATA message's result is dropped), so
/// the round trip is the call's and the throughput that of calls made one after
/// another.
struct DoorTransport: ~Copyable, BenchTransport {
    static let name = "door"
    static var maximumMessageSize: Int? { 65536 }

    /// The client and the last result, in allocated memory rather than stored
    /// properties (see `ChannelTransport`).
    let client: UnsafeMutablePointer<DoorClient>
    let result: UnsafeMutableRawBufferPointer
    let resultCount: UnsafeMutablePointer<Int>

    init(client: consuming DoorClient) {
        self.client = .allocate(capacity: 1)
        self.client.initialize(to: client)
        result = .allocate(byteCount: 65536, alignment: 64)
        resultCount = .allocate(capacity: 1)
        resultCount.initialize(to: 0)
    }

    deinit {
        client.deinitialize(count: 1)
        client.deallocate()
        result.deallocate()
        resultCount.deallocate()
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> DoorTransport {
        let pair = try UnixSocketPair(.stream)
        try peer.inherit(pair.second.descriptor, as: 3)
        try peer.start()
        var byte = [UInt8](repeating: 0, count: 1)
        var handed = try pair.first.receive(into: &byte, descriptorLimit: 1, timeout: .seconds(30))
        guard let door = handed.descriptors.takeNext() else {
            throw IPCError(.protocolError, operation: "door bench", detail: "the child sent no door")
        }
        return DoorTransport(client: try DoorClient(adopting: door))
    }

    static func responder(objects: [String]) throws(IPCError) -> DoorTransport {
        throw IPCError(.notSupported, operation: "door bench", detail: "the door's child serves through respond(_:)")
    }

    /// The child: an echo door; QUIT ends it once answered.
    static func respond(_ options: BenchPeerOptions) throws(BenchError) {
        let state = ResponderState()
        let fault = options.fault
        do throws(IPCError) {
            let socket = try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: 3))
            let door = try Door(name: "bench-echo", options: DoorOptions(maximumMessageSize: 65536)) { call in
                let count = state.calls.add(1, ordering: .relaxed).newValue
                if let fault, count >= fault.afterMessages { fault.strike() }
                var tag: UInt8 = 0
                try call.reply(count: call.argumentCount, fromArguments: { arguments, result in
                    arguments.withUnsafeBytes { bytes in
                        result.copyMemory(from: bytes)
                        tag = bytes.first ?? 0
                    }
                })
                if tag == BenchTag.quit.rawValue { state.quit() }
            }
            try socket.send([0], descriptor: door.handOut())
            try state.waitForQuit()
        } catch {
            throw .setup(run: "\(name) responder", error)
        }
    }

    /// The child's count of calls (for a fault) and the word its main thread
    /// sleeps on until QUIT has been answered.
    private final class ResponderState: @unchecked Sendable {
        let calls = Atomic<Int>(0)
        private let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        private var atomic: UnsafeMutablePointer<Atomic<UInt32>> { UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self) }

        init() { word.initialize(to: 0) }
        deinit { word.deallocate() }

        func quit() {
            atomic.pointee.store(1, ordering: .releasing)
            _ = try? Futex.wake(word, count: 1)
        }

        func waitForQuit() throws(IPCError) {
            while atomic.pointee.load(ordering: .acquiring) == 0 { try Futex.wait(word, expecting: 0, until: nil) }
        }
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        let result = self.result, resultCount = self.resultCount
        do {
            try client.pointee.call(count: message.count, writing: { $0.copyMemory(from: message) }, reading: { payload, _ in
                result.copyMemory(from: payload)
                resultCount.pointee = payload.count
            })
        } catch {
            throw .transport(error as? IPCError ?? IPCError(.ioError, operation: "door_call"))
        }
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        guard resultCount.pointee == message.count else {
            throw .transport(IPCError(.badMessage, operation: "door_call", detail: "a \(resultCount.pointee)-byte result where \(message.count) were sent"))
        }
        message.copyMemory(from: UnsafeRawBufferPointer(rebasing: result[..<message.count]))
    }
}
