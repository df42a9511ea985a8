#if canImport(Glibc)
import Glibc
#endif

extension SharedMemoryChannel {
    /// What a channel's memory says about it now (SPEC M5, L2): who is attached,
    /// how full each ring is, how many messages were dropped. For `ipc channel
    /// stat` and `ipc ls`; the values are read without locking, from memory other
    /// processes write, and only reported (clamped), never trusted.
    public struct Status: Sendable {
        /// What became of one end.
        public enum End: Sendable, Equatable, CustomStringConvertible {
            /// Nobody attached yet.
            case none
            /// Attached: the process is alive (or cannot be judged from here).
            case attached(pid_t)
            /// The process closed its end.
            case closed(pid_t)
            /// The process is gone without closing (killed, or its pid reused).
            case gone(pid_t)

            public var description: String {
                switch self {
                case .none: "none"
                case .attached(let pid): "pid \(pid)"
                case .closed(let pid): "closed (pid \(pid))"
                case .gone(let pid): "gone (pid \(pid))"
                }
            }

            public var pid: pid_t? {
                switch self {
                case .none: nil
                case .attached(let pid), .closed(let pid), .gone(let pid): pid
                }
            }
        }

        /// One producer's slot.
        public struct Producer: Sendable {
            public let index: Int
            public let end: End
            /// Bytes committed and not yet released (records, headers and padding).
            public let queuedBytes: Int
            /// Messages dropped because the ring was full (policy `drop`).
            public let dropped: UInt64
        }

        public let capacity: Int
        public let maximumMessageSize: Int
        public let whenFull: FullPolicy
        public let receiver: End
        public let producers: [Producer]

        /// The bytes queued in every ring.
        public var queuedBytes: Int { producers.reduce(0) { $0 + $1.queuedBytes } }
        /// The fill level, 0 to 1: bytes queued over the capacity of every ring.
        public var fillLevel: Double { Double(queuedBytes) / Double(capacity * max(1, producers.count)) }
        /// The producers attached now.
        public var attachedProducers: [pid_t] {
            producers.compactMap { if case .attached(let pid) = $0.end { pid } else { nil } }
        }
    }

    /// The channel's status now.
    public var status: Status {
        let capacity = ring.capacity
        let producers = ring.slots.map { slot in
            let head = slot.head.pointee.load(ordering: .acquiring)
            let tail = slot.tail.pointee.load(ordering: .acquiring)
            let queued = tail >= head ? min(tail - head, capacity) : 0
            return Status.Producer(index: slot.index, end: Status.End(slot.sender.state), queuedBytes: Int(queued),
                                   dropped: slot.dropped.pointee.load(ordering: .relaxed))
        }
        return Status(capacity: Int(capacity), maximumMessageSize: ring.maximumMessageSize, whenFull: ring.whenFull,
                      receiver: Status.End(ring.receiver.state), producers: producers)
    }
}

extension SharedMemoryChannel.Status.End {
    init(_ state: ChannelPeerRecord.State) {
        switch state {
        case .none: self = .none
        case .attached(let pid): self = .attached(pid)
        case .closed(let pid): self = .closed(pid)
        case .gone(let pid): self = .gone(pid)
        }
    }
}
