import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `posix-mq`: two POSIX message queues, `/NAME.p2c` and `/NAME.c2p`, exactly as
/// refbench's `posix_mq`: depth 10 (the Linux default `fs.mqueue.msg_max`), fewer
/// when `RLIMIT_MSGQUEUE` cannot hold two such queues; message size = the run's
/// size; one `mq_send`/`mq_receive` per message at priority 0. Sizes above
/// `fs.mqueue.msgsize_max` are skipped with a note, as ref skips them.
///
/// The parent creates both queues (`O_CREAT|O_EXCL`, 0600), closes them, and opens
/// p2c write-only and c2p read-only; the child opens them by name the other way
/// and then unlinks both names (the parent's ledger has them until then), so an
/// interrupted bench leaves no queue behind. A queue has no end of file: when the
/// child ends, the watchdog empties the child's queue (waking a blocked send) and
/// sends the parent's queue an empty message, which ends its blocked receive with
/// an error — through descriptors the parent opened beforehand, as the names may
/// be gone.
struct PosixMQTransport: ~Copyable, BenchTransport {
    static let name = "posix-mq"
    /// refbench's `MQ_DEPTH`.
    static let depth = 10

    let sender: PosixMessageQueue
    let receiver: PosixMessageQueue

    static func unsupportedReason(size: Int) -> String? {
        guard let maximum = kernelParameter("msgsize_max"), size > maximum else { return nil }
        return "exceeds fs.mqueue.msgsize_max=\(maximum) (needs CAP_SYS_RESOURCE or sysctl -w fs.mqueue.msgsize_max=65536)"
    }

    static func note(size: Int) -> String? {
        let depth = depth(for: size)
        return depth == Self.depth ? nil : "queue depth \(depth) (RLIMIT_MSGQUEUE)"
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> PosixMQTransport {
        let (toResponder, toInitiator) = names(name)
        let depth = depth(for: peer.size)
        for queue in [toResponder, toInitiator] {
            try peer.ledger.make(.posixQueue(queue)) { () throws(IPCError) in
                try PosixMessageQueue.create(queue, maxMessages: depth, messageSize: peer.size).close()
            }
        }
        let transport = PosixMQTransport(sender: try .open(toResponder, access: .writeOnly),
                                         receiver: try .open(toInitiator, access: .readOnly))
        let wakers = Wakers(drain: try .open(toResponder, access: .readOnly, nonBlocking: true),
                            poke: try .open(toInitiator, access: .writeOnly, nonBlocking: true))
        peer.whenChildEnds {
            while case .some(.some) = try? wakers.drain.tryReceive() {}
            _ = try? wakers.poke.trySend([], priority: PosixMessageQueue.priorityLimit - 1)
        }
        try peer.start(objects: [toResponder, toInitiator])
        return transport
    }

    static func responder(objects: [String]) throws(IPCError) -> PosixMQTransport {
        guard objects.count == 2 else {
            throw IPCError(.invalidArgument, operation: "bench-peer", detail: "posix-mq needs two queue names")
        }
        let transport = PosixMQTransport(sender: try .open(objects[1], access: .writeOnly),
                                         receiver: try .open(objects[0], access: .readOnly))
        // Both sides have both queues open now: the names are no longer needed.
        try? PosixMessageQueue.unlink(objects[0])
        try? PosixMessageQueue.unlink(objects[1])
        return transport
    }

    /// The parent's extra ends, for the watchdog: the child's queue to empty and
    /// its own queue to wake.
    private final class Wakers: Sendable {
        let drain: PosixMessageQueue
        let poke: PosixMessageQueue
        init(drain: consuming PosixMessageQueue, poke: consuming PosixMessageQueue) {
            self.drain = drain
            self.poke = poke
        }
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        do { try sender.send(message, priority: 0) } catch { throw .transport(error) }
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        let count: Int
        do { count = try receiver.receive(into: message).count } catch { throw .transport(error) }
        if count != message.count {
            throw .transport(IPCError(.messageTooLong, operation: "mq_receive", detail: "received \(count) bytes, expected \(message.count)"))
        }
    }

    private static func names(_ name: String) -> (toResponder: String, toInitiator: String) {
        ("/\(name).p2c", "/\(name).c2p")
    }

    /// 10, or what two queues of `size`-byte messages fit in `RLIMIT_MSGQUEUE`
    /// (refbench's `pmq_depth`: first try to lift the limit, which only works with
    /// CAP_SYS_RESOURCE; then budget (limit − 2048) / 2 per queue and 64 bytes of
    /// overhead per message).
    static func depth(for size: Int) -> Int {
        let resource = __rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue)
        let infinity = rlim_t.max  // RLIM_INFINITY
        var limit = rlimit(rlim_cur: infinity, rlim_max: infinity)
        _ = setrlimit(resource, &limit)
        getrlimit(resource, &limit)
        if limit.rlim_cur == infinity { return depth }
        let budget = (Int(clamping: limit.rlim_cur) - 2048) / 2
        return max(1, min(depth, budget / (size + 64)))
    }

    private static func kernelParameter(_ name: String) -> Int? {
        guard let file = fopen("/proc/sys/fs/mqueue/" + name, "r") else { return nil }
        defer { fclose(file) }
        var value = 0
        return withVaList([withUnsafeMutablePointer(to: &value) { $0 }]) { vfscanf(file, "%ld", $0) } == 1 ? value : nil
    }
}
