import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `sysv-msg`: two private System V message queues, one per direction, exactly as
/// refbench's `sysv_msg`: `msg_qbytes` = max(16384, 2 × size) (set explicitly, so
/// results do not depend on `kernel.msgmnb`), every message of type 1, `msgsnd`
/// and `msgrcv` with type 0, blocking. Sizes above `kernel.msgmax` are skipped with
/// a note, as ref skips them.
///
/// Like the C harness, the type is written in place into the 8 bytes before the
/// message (`MessageBuffer` has a page of headroom), so `send(rawMessage:)` and
/// `receive(rawMessage:)` move the message with no copy and no allocation.
///
/// The parent creates both queues and hands their identifiers to the child as
/// object names. A queue has no end of file: when the child ends, the watchdog
/// removes both queues, which wakes a blocked `msgrcv` with `EIDRM`. The ledger
/// removes them after the run, on a signal, or — after SIGKILL — at the start of
/// the next bench.
struct SystemVMessageTransport: BenchTransport {
    static let name = "sysv-msg"
    /// refbench's minimum `msg_qbytes` (the Linux default `msgmnb`).
    static let minimumQueueBytes = 16384
    /// The mtype of every message.
    static let messageType = 1

    let sender: SystemVMessageQueue
    let receiver: SystemVMessageQueue

    static func unsupportedReason(size: Int) -> String? {
        let maximum = SystemVMessageQueue.maximumMessageSize
        guard size > maximum else { return nil }
        return "exceeds kernel.msgmax=\(maximum) (raise with sysctl -w kernel.msgmax=65536 kernel.msgmnb=131072)"
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SystemVMessageTransport {
        let toResponder = try makeQueue(size: peer.size, ledger: peer.ledger)
        let toInitiator = try makeQueue(size: peer.size, ledger: peer.ledger)
        peer.whenChildEnds {
            try? toResponder.remove()
            try? toInitiator.remove()
        }
        try peer.start(objects: ["\(toResponder.id)", "\(toInitiator.id)"])
        return SystemVMessageTransport(sender: toResponder, receiver: toInitiator)
    }

    static func responder(objects: [String]) throws(IPCError) -> SystemVMessageTransport {
        guard objects.count == 2, let toResponder = Int32(objects[0]), let toInitiator = Int32(objects[1]) else {
            throw IPCError(.invalidArgument, operation: "bench-peer", detail: "sysv-msg needs two queue identifiers")
        }
        return SystemVMessageTransport(sender: try SystemVMessageQueue(id: toInitiator),
                                       receiver: try SystemVMessageQueue(id: toResponder))
    }

    /// A private queue of max(16384, 2 × size) bytes, recorded in the ledger.
    private static func makeQueue(size: Int, ledger: BenchLedger) throws(IPCError) -> SystemVMessageQueue {
        let queue = try ledger.make({ () throws(IPCError) in try SystemVMessageQueue.create(key: .private) },
                                    recordedAs: { .systemV(.messageQueue, $0.id) })
        let wanted = max(minimumQueueBytes, 2 * size)
        if try queue.status().maximumBytes != wanted { try queue.setMaximumBytes(wanted) }
        return queue
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        let header = UnsafeMutableRawPointer(mutating: message.baseAddress!) - SystemVMessageQueue.typeSize
        header.storeBytes(of: Self.messageType, as: Int.self)
        do { try sender.send(rawMessage: header, textCount: message.count) } catch { throw .transport(error) }
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        let header = message.baseAddress! - SystemVMessageQueue.typeSize
        let count: Int
        do { count = try receiver.receive(rawMessage: header, textCapacity: message.count) } catch { throw .transport(error) }
        if count != message.count {
            throw .transport(IPCError(.messageTooLong, operation: "msgrcv", detail: "received \(count) bytes, expected \(message.count)"))
        }
    }
}
