#if canImport(Glibc)
import Glibc
#endif

extension SharedMemoryChannel {
    /// What a channel's memory says about it now (SPEC M5, L2): who is attached,
    /// how full each ring is, how many messages were dropped. For `ipc channel
    /// stat` and `ipc ls`; the values are read without locking, from memory other
    /// processes write, and only reported (clamped), never trusted.
    public struct Status: Sendable, Hashable {
        /// What became of one end.
        public enum End: Sendable, Hashable, CustomStringConvertible {
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
        public struct Producer: Sendable, Hashable {
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

extension SharedMemoryChannel.Status {
    /// The status of the channel in `mapping` — a read-only mapping of a shared
    /// memory object whose placement header says `ipc.channel` at this library's
    /// version — read without attaching or writing anything, for `ipc ls`. Every
    /// value is read through the mapping's checked accessors and judged before
    /// use: nil when the geometry is not a channel's or does not fit the mapping.
    init?(inspecting mapping: borrowing MemoryMapping) {
        let offsets = ChannelLayout.geometryOffsets
        guard let capacity = try? mapping.load(UInt64.self, at: offsets.capacity),
              let maximum = try? mapping.load(UInt64.self, at: offsets.maximumMessageSize),
              let producers = try? mapping.load(UInt64.self, at: offsets.producers),
              let policy = try? mapping.load(UInt64.self, at: offsets.whenFull),
              capacity >= UInt64(ChannelLayout.minimumCapacity), capacity <= UInt64(ChannelLayout.maximumCapacity),
              capacity & (capacity - 1) == 0, producers >= 1, producers <= UInt64(ChannelLayout.maximumProducers),
              maximum >= 1, maximum <= UInt64(ChannelLayout.largestMessage(capacity: Int(capacity))),
              let whenFull = SharedMemoryChannel.FullPolicy(rawValue: policy),
              let parts = try? ChannelLayout(capacity: Int(capacity), maximumMessageSize: Int(maximum), producers: Int(producers)),
              parts.layout.size <= mapping.length else { return nil }
        func end(_ places: ChannelPeerPlaces) -> End? {
            guard let pid = try? mapping.load(Int32.self, at: places.pid.offset),
                  let identified = try? mapping.load(Int32.self, at: places.identified.offset),
                  let startTime = try? mapping.load(UInt64.self, at: places.startTime.offset),
                  let namespace = try? mapping.load(UInt64.self, at: places.pidNamespace.offset) else { return nil }
            if pid == 0 { return End(ChannelPeerRecord.State.none) }
            let complete = identified == pid
            return End(ChannelPeerRecord.state(of: ProcessIdentity(pid: pid, startTime: complete ? startTime : 0,
                                                                   pidNamespace: complete ? namespace : 0)))
        }
        var ends: [Producer] = []
        for (index, slot) in parts.slots.enumerated() {
            guard let producer = end(slot.sender),
                  let head = try? mapping.load(UInt64.self, at: slot.head.offset),
                  let tail = try? mapping.load(UInt64.self, at: slot.tail.offset),
                  let dropped = try? mapping.load(UInt64.self, at: slot.dropped.offset) else { return nil }
            ends.append(Producer(index: index, end: producer, queuedBytes: Int(tail >= head ? min(tail - head, capacity) : 0), dropped: dropped))
        }
        guard let receiver = end(parts.receiver) else { return nil }
        self.init(capacity: Int(capacity), maximumMessageSize: Int(maximum), whenFull: whenFull, receiver: receiver, producers: ends)
    }

    /// The type name a channel's placement header carries, and its version.
    public static let placedType = ChannelLayout.type
    public static let placedVersion = ChannelLayout.version
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
