import Interprocess

/// How the ends of a channel row wait: `channel-spin` spins a bounded time, then
/// sleeps (the channel's default); `channel-sleep` sleeps at once.
protocol ChannelWaiting {
    static var name: String { get }
    static var spinning: Duration { get }
}

enum SpinThenSleep: ChannelWaiting {
    static let name = "channel-spin"
    static let spinning = SharedMemoryChannel.defaultSpinning
}

enum SleepOnly: ChannelWaiting {
    static let name = "channel-sleep"
    static let spinning = Duration.zero
}

/// `channel-spin` and `channel-sleep`: two `SharedMemoryChannel`s (SPEC M5), one
/// each way, in anonymous sealed memfds handed to the child as descriptors 3 and 4.
/// A waiting end spins for `Waiting.spinning`, then sleeps on its futex word;
/// the other end wakes it only when it flagged itself asleep (`Channels/README.md`).
/// A dead peer is `EPIPE` within the channel's 100 ms liveness check.
struct ChannelTransport<Waiting: ChannelWaiting>: ~Copyable, BenchTransport {
    static var name: String { Waiting.name }
    static var maximumMessageSize: Int? { 65536 }
    /// Room for 16 of the largest messages.
    static var capacity: Int { 1 << 20 }

    /// The two ends: `send` and `receive` are mutating on them, the transport's
    /// calls are not. They live in allocated memory rather than in a class, whose
    /// stored properties Swift checks for exclusive access at run time on every
    /// call (`swift_beginAccess`): the C ring pays nothing of the kind.
    let sender: UnsafeMutablePointer<SharedMemoryChannel.Sender>
    let receiver: UnsafeMutablePointer<SharedMemoryChannel.Receiver>

    init(sender: consuming SharedMemoryChannel.Sender, receiver: consuming SharedMemoryChannel.Receiver) {
        self.sender = .allocate(capacity: 1)
        self.sender.initialize(to: sender)
        self.receiver = .allocate(capacity: 1)
        self.receiver.initialize(to: receiver)
    }

    deinit {
        sender.deinitialize(count: 1)
        sender.deallocate()
        receiver.deinitialize(count: 1)
        receiver.deallocate()
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> ChannelTransport {
        let toResponder = try SharedMemoryChannel.anonymous(capacity: capacity, maximumMessageSize: maximumMessageSize!, label: "ipc-bench")
        let toInitiator = try SharedMemoryChannel.anonymous(capacity: capacity, maximumMessageSize: maximumMessageSize!, label: "ipc-bench")
        try peer.inherit(toResponder.memory.descriptor, as: 3)
        try peer.inherit(toInitiator.memory.descriptor, as: 4)
        try peer.start()
        return ChannelTransport(sender: try toResponder.sender(spinning: Waiting.spinning),
                                receiver: try toInitiator.receiver(spinning: Waiting.spinning))
    }

    static func responder(objects: [String]) throws(IPCError) -> ChannelTransport {
        let fromInitiator = try SharedMemoryChannel(adopting: OwnedDescriptor(inheritedNumber: 3))
        let toInitiator = try SharedMemoryChannel(adopting: OwnedDescriptor(inheritedNumber: 4))
        return ChannelTransport(sender: try toInitiator.sender(spinning: Waiting.spinning),
                                receiver: try fromInitiator.receiver(spinning: Waiting.spinning))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        do {
            try sender.pointee.send(count: message.count) { span in
                span.withUnsafeMutableBytes { $0.copyMemory(from: message) }
            }
        } catch {
            throw .transport(error as? IPCError ?? IPCError(.ioError, operation: "channel send"))
        }
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        let received: Int
        do {
            received = try receiver.pointee.receive { span in
                span.withUnsafeBytes { bytes in
                    let count = min(bytes.count, message.count)
                    message.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count)
                    return bytes.count
                }
            }
        } catch {
            throw .transport(error as? IPCError ?? IPCError(.ioError, operation: "channel receive"))
        }
        if received != message.count {
            throw .transport(IPCError(.badMessage, operation: "channel receive", detail: "a \(received)-byte message where \(message.count) were sent"))
        }
    }
}
