import Synchronization

extension SharedMemoryChannel {
    /// Makes this channel value the receiving end (SPEC M5), recorded in the memory
    /// as the channel's receiver. Throws `EBUSY` when another live process is the
    /// receiver (a dead one is replaced: messages it was reading and had not
    /// released come again), `EPROTO` when the indices in the memory are
    /// inconsistent.
    ///
    /// `spinLimit`: how many times a wait checks the other end before it sleeps on
    /// the futex (the default spins about 10–50 µs; 0 sleeps at once, never
    /// spinning: the least processor time, one kernel wake-up per wait).
    public consuming func receiver(spinLimit: Int = SharedMemoryChannel.defaultSpinLimit) throws(IPCError) -> Receiver {
        try Receiver(self, spins: max(0, spinLimit))
    }

    /// The receiving end of a channel: reads each message in place and releases it
    /// (SPEC M5).
    ///
    /// The head (bytes released) is this end's own: it is kept here and only
    /// published. Everything else is read from shared memory and validated before
    /// use — the sender's tail (a multiple of 8, never moving back, never more than
    /// the capacity ahead), each record's header (its check, a length within the
    /// maximum, inside the published bytes and inside the ring) and each wrap
    /// marker (not at the start, inside the published bytes) — so a damaged or
    /// hostile sender makes a call throw `EPROTO` or `EBADMSG`, never read outside
    /// the ring or loop.
    public struct Receiver: ~Copyable, @unchecked Sendable {
        let channel: SharedMemoryChannel
        /// Bytes released (private; published to the shared head).
        var head: UInt64
        /// What was last stored in the shared head.
        var published: UInt64
        /// The sender's tail as last read and validated.
        var tail: UInt64
        /// How this end sleeps when the ring is empty.
        let sleep: ChannelSleep
        /// How the sender sleeps when the ring is full: this end wakes it.
        let senderSleep: ChannelSleep

        init(_ channel: consuming SharedMemoryChannel, spins: Int) throws(IPCError) {
            let ring = channel.ring
            try ring.receiver.claim("SharedMemoryChannel.receiver", object: ring.object)
            (head, tail) = try ring.attachedIndices("SharedMemoryChannel.receiver")
            published = head
            sleep = ChannelSleep(spins: spins, peerIndex: ring.tail, word: ring.dataWord, asleep: ring.receiverAsleep,
                                 peer: ring.sender, object: ring.object, operation: "SharedMemoryChannel.receive")
            senderSleep = ChannelSleep(spins: ChannelSleep.defaultSpins, peerIndex: ring.head, word: ring.spaceWord, asleep: ring.senderAsleep,
                                       peer: ring.receiver, object: ring.object, operation: "SharedMemoryChannel.receive")
            self.channel = channel
        }

        /// Marks this end closed in the memory: a sender waiting for room gets
        /// `EPIPE`; another process may become the receiver.
        deinit { channel.ring.receiver.close() }

        /// The capacity of the ring in bytes.
        public var capacity: Int { channel.capacity }
        /// The largest message this channel takes.
        public var maximumMessageSize: Int { channel.maximumMessageSize }
        /// The shared memory object (its `descriptor` can be handed to a child).
        public var memory: PosixSharedMemory { _read { yield channel.memory } }

        /// A message found in the ring: where its bytes are, how many, and the
        /// record's size to release.
        struct Message {
            var offset: UInt64
            var count: Int
            var size: UInt64
        }

        /// The next message, or nil when the ring is empty now. At most one wrap
        /// marker is passed (a second one would be at the ring's start: refused),
        /// so this never loops.
        mutating func next(_ operation: String) throws(IPCError) -> Message? {
            let ring = channel.ring
            for _ in 0..<2 {
                if head == tail {
                    try refreshTail(operation)
                    if head == tail {
                        try publish(operation)
                        return nil
                    }
                }
                let available = tail - head
                let position = head & (ring.capacity - 1)
                let header = ring.loadHeader(at: position)
                try channel.placed.mapping.checkAfterAccess(operation)
                let length = UInt32(truncatingIfNeeded: header)
                if UInt32(truncatingIfNeeded: header >> 32) != ~length {
                    throw badRecord(operation, "a record header at ring offset \(position) fails its check (0x\(String(header, radix: 16)))")
                }
                if length == ChannelRecord.wrapMarker {
                    let skip = ring.capacity - position
                    if position == 0 || skip > available {
                        throw badRecord(operation, "a wrap marker at ring offset \(position) with \(available) bytes published")
                    }
                    head += skip
                    continue
                }
                if Int(length) > ring.maximumMessageSize {
                    throw badRecord(operation, "a record of \(length) bytes at ring offset \(position); the maximum is \(ring.maximumMessageSize)")
                }
                let size = UInt64(ChannelRecord.size(length: Int(length)))
                if size > available || position + size > ring.capacity {
                    throw badRecord(operation, "a record of \(length) bytes at ring offset \(position) runs past the \(available) bytes published or the ring's end")
                }
                return Message(offset: position + UInt64(ChannelRecord.headerSize), count: Int(length), size: size)
            }
            throw badRecord(operation, "a wrap marker at the ring's start")
        }

        /// Reads the sender's tail and checks it: a multiple of 8, not behind the
        /// last one seen, at most the capacity ahead of the head. `EPROTO` otherwise.
        mutating func refreshTail(_ operation: String) throws(IPCError) {
            let ring = channel.ring
            let seen = ring.tail.pointee.load(ordering: .acquiring)
            if seen & 7 != 0 || seen < tail || seen - head > ring.capacity {
                throw IPCError(.protocolError, operation: operation, object: ring.object,
                               detail: "the sender's tail is \(seen), outside \(tail)...\(head + ring.capacity) or not a multiple of 8: damaged by another process")
            }
            tail = seen
        }

        /// Releases `message`: publishes the new head and wakes the sender if it
        /// sleeps for room.
        mutating func release(_ message: Message, _ operation: String) throws(IPCError) {
            head += message.size
            try publish(operation)
        }

        private mutating func publish(_ operation: String) throws(IPCError) {
            if published == head { return }
            channel.ring.head.pointee.store(head, ordering: .sequentiallyConsistent)
            published = head
            try senderSleep.wakeIfAsleep()
        }

        private func badRecord(_ operation: String, _ what: String) -> IPCError {
            IPCError(.badMessage, operation: operation, object: channel.ring.object,
                     detail: "\(what): damaged by another process")
        }

        /// Finds the next message — waiting until `deadline` (nil: not at all) —
        /// lends it to `body`, and releases it when `body` returns or throws.
        mutating func receive<R>(until deadline: Deadline?, _ operation: String, _ body: (RawSpan) throws -> R) throws -> R? {
            while true {
                if let message = try next(operation) {
                    let bytes = UnsafeRawBufferPointer(start: channel.ring.bytes + Int(message.offset), count: message.count)
                    let result: R
                    do { result = try body(unsafe RawSpan(_unsafeBytes: bytes)) } catch {
                        try release(message, operation)
                        throw error
                    }
                    try channel.placed.mapping.checkAfterAccess(operation)
                    try release(message, operation)
                    return result
                }
                guard let deadline else { return nil }
                try sleep.wait(whileAt: tail, until: deadline)
            }
        }
    }
}
