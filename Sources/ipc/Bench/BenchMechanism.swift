import Interprocess

/// A mechanism `ipc bench` measures, as one side's end of it: how the initiator
/// (parent) makes the kernel objects and hands them to the responder (child), and
/// the `send`/`receive` pair the hot loops call.
///
/// `send` and `receive` are the whole hot path: they must not allocate and must move
/// each message with the library's own read/write calls, as the C harness does with
/// `write_full`/`read_full`. Adding a mechanism is one file: a type conforming to
/// this protocol, listed in `BenchMechanisms.all`.
protocol BenchTransport: ~Copyable, SendableMetatype {
    /// The stable name in the table and the JSON (`pipe`, `fifo`, …).
    static var name: String { get }
    /// The largest message the mechanism carries; nil when unbounded.
    static var maximumMessageSize: Int? { get }
    /// Why a message of `size` bytes cannot be measured here (the run is skipped
    /// with this note), or nil. By default, sizes above `maximumMessageSize`.
    static func unsupportedReason(size: Int) -> String?
    /// A remark on the run at `size` (e.g. a reduced queue depth), or nil.
    static func note(size: Int) -> String?

    /// Parent: creates the kernel objects under the unique `name` (recording them
    /// in `peer.ledger`, which removes them after the run), hands the child
    /// its share (`peer.inherit(_:as:)` from descriptor 3 up, object names to
    /// `peer.start(objects:)`), starts it, and returns this side's end. Closes its
    /// copies of the child's ends, so a dead child reads as end of file.
    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> Self
    /// Child: this side's end, from the inherited descriptors and `objects`.
    static func responder(objects: [String]) throws(IPCError) -> Self
    /// Child: `responder(objects:)`, for a transport whose calls are answered
    /// elsewhere than in `Responder.serve` (a door's procedure), where `fault`
    /// must strike. By default the fault is `Responder.serve`'s.
    static func responder(objects: [String], fault: BenchPeerFault?) throws(IPCError) -> Self
    /// Sends every byte of `message`.
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError)
    /// Fills `message` completely; throws `.peerClosed` at end of file.
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError)
}

extension BenchTransport where Self: ~Copyable {
    static var maximumMessageSize: Int? { nil }
    static func note(size: Int) -> String? { nil }
    static func responder(objects: [String], fault: BenchPeerFault?) throws(IPCError) -> Self { try responder(objects: objects) }
    static func unsupportedReason(size: Int) -> String? {
        guard let maximum = maximumMessageSize, size > maximum else { return nil }
        return "larger than the mechanism's \(maximum)-byte maximum"
    }
}

/// The mechanisms this build of `ipc bench` measures, in table order.
enum BenchMechanisms {
    static let all: [BenchMechanism] = [
        BenchMechanism(PipeTransport.self),
        BenchMechanism(FIFOTransport.self),
        BenchMechanism(SocketPairTransport.self),
        BenchMechanism(UnixStreamTransport.self),
        BenchMechanism(UnixSeqPacketTransport.self),
        BenchMechanism(UnixDatagramTransport.self),
        BenchMechanism(PosixMQTransport.self),
        BenchMechanism(SystemVMessageTransport.self),
        BenchMechanism(SharedMemorySemaphoreTransport.self),
        BenchMechanism(SharedMemorySystemVSemaphoreTransport.self),
        BenchMechanism(SharedMemoryMutexTransport.self),
        BenchMechanism(ChannelTransport<SpinThenSleep>.self),
        BenchMechanism(ChannelTransport<SleepOnly>.self),
        BenchMechanism(DoorTransport.self),
        BenchMechanism(async: SharedMemorySemaphoreAsyncTransport.self),
        BenchMechanism(async: PosixMQAsyncTransport.self),
    ]

    static var names: [String] { all.map(\.name) }

    static func named(_ name: String) -> BenchMechanism? { all.first { $0.name == name } }
}

/// A transport with its type erased, so the list above can hold them all while
/// each closure runs the generic code specialized for its own transport.
struct BenchMechanism: Sendable {
    let name: String
    let maximumMessageSize: Int?
    /// Why a size is skipped, or nil when it can be measured.
    let unsupportedReason: @Sendable (Int) -> String?
    /// Parent: one run at one size; the result keeps what was measured before a failure.
    let measure: @Sendable (BenchSession, Int, inout BenchResult) throws(BenchError) -> Void
    /// Child: attach and answer until QUIT.
    let respond: @Sendable (BenchPeerOptions) throws(BenchError) -> Void

    init<T: BenchTransport & ~Copyable>(_ transport: T.Type) {
        name = T.name
        maximumMessageSize = T.maximumMessageSize
        unsupportedReason = { size in T.unsupportedReason(size: size) }
        measure = { (session, size, result) throws(BenchError) in try session.measure(T.self, size: size, into: &result) }
        respond = { (options) throws(BenchError) in
            let endpoint: T
            do throws(IPCError) { endpoint = try T.responder(objects: options.objects, fault: options.fault) } catch {
                throw .setup(run: "\(T.name) responder", error)
            }
            let buffer = MessageBuffer(size: options.size)
            try Responder.serve(endpoint, buffer: buffer, fault: options.fault)
        }
    }

    /// Whether a message of `size` bytes fits the mechanism.
    func supports(size: Int) -> Bool { unsupportedReason(size) == nil }
}

/// What the child needs to attach: the message size, the names of objects to open,
/// and the fault a test asked for.
struct BenchPeerOptions: Sendable {
    var size: Int
    var objects: [String]
    var fault: BenchPeerFault?
}
