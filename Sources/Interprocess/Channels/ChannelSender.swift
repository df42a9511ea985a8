import Synchronization

extension SharedMemoryChannel {
    /// Makes this channel value the sending end (SPEC M5), recorded in the memory
    /// as the channel's sender. Throws `EBUSY` when another live process is the
    /// sender (a dead one is replaced), `EPROTO` when the indices in the memory are
    /// inconsistent.
    ///
    /// `spinLimit`: how many times a wait checks the other end before it sleeps on
    /// the futex (the default spins about 10–50 µs; 0 sleeps at once, never
    /// spinning: the least processor time, one kernel wake-up per wait).
    public consuming func sender(spinLimit: Int = SharedMemoryChannel.defaultSpinLimit) throws(IPCError) -> Sender {
        try Sender(self, spins: max(0, spinLimit))
    }

    /// The sending end of a channel: claims space in the ring, lets the caller write
    /// the message in place, and commits it (SPEC M5).
    ///
    /// The tail (bytes committed) is this end's own: it is kept here and only
    /// published; the receiver's head is read from shared memory and validated
    /// every time (a multiple of 8, never moving back, never past the tail), so a
    /// damaged or hostile receiver makes a call throw `EPROTO`, never write outside
    /// the ring.
    public struct Sender: ~Copyable, @unchecked Sendable {
        let channel: SharedMemoryChannel
        /// Bytes committed (private; published to the shared tail).
        var tail: UInt64
        /// The receiver's head as last read and validated.
        var head: UInt64
        /// How this end sleeps when the ring is full.
        let sleep: ChannelSleep
        /// How the receiver sleeps when it is empty: this end wakes it.
        let receiverSleep: ChannelSleep

        init(_ channel: consuming SharedMemoryChannel, spins: Int) throws(IPCError) {
            let ring = channel.ring
            try ring.sender.claim("SharedMemoryChannel.sender", object: ring.object)
            (head, tail) = try ring.attachedIndices("SharedMemoryChannel.sender")
            sleep = ChannelSleep(spins: spins, peerIndex: ring.head, word: ring.spaceWord, asleep: ring.senderAsleep,
                                 peer: ring.receiver, object: ring.object, operation: "SharedMemoryChannel.send")
            receiverSleep = ChannelSleep(spins: ChannelSleep.defaultSpins, peerIndex: ring.tail, word: ring.dataWord, asleep: ring.receiverAsleep,
                                         peer: ring.sender, object: ring.object, operation: "SharedMemoryChannel.send")
            self.channel = channel
        }

        /// Marks this end closed in the memory: the receiver, once it has taken
        /// every message, gets `EPIPE`; another process may become the sender.
        deinit { channel.ring.sender.close() }

        /// The capacity of the ring in bytes.
        public var capacity: Int { channel.capacity }
        /// The largest message this channel takes.
        public var maximumMessageSize: Int { channel.maximumMessageSize }
        /// The shared memory object (its `descriptor` can be handed to a child).
        public var memory: PosixSharedMemory { _read { yield channel.memory } }

        /// Where a claimed message goes: its header's ring position, and the bytes
        /// skipped before it (a wrap marker at the old tail), both committed with it.
        struct Claim {
            var position: UInt64
            var skip: UInt64
            var count: Int
        }

        /// Room for `count` bytes, or nil when the ring is full for now. Reads the
        /// receiver's head only when the last one seen leaves too little room.
        mutating func claim(_ count: Int, _ operation: String) throws(IPCError) -> Claim? {
            let ring = channel.ring
            if count < 0 || count > ring.maximumMessageSize {
                throw IPCError(.messageTooLong, operation: operation, object: ring.object,
                               detail: "a message of \(count) bytes; this channel takes at most \(ring.maximumMessageSize)")
            }
            let size = UInt64(ChannelRecord.size(length: count))
            let position = tail & (ring.capacity - 1)
            let skip = ring.capacity - position < size ? ring.capacity - position : 0
            let needed = skip + size
            if tail - head + needed > ring.capacity {
                try refreshHead(operation)
                if tail - head + needed > ring.capacity { return nil }
            }
            return Claim(position: skip == 0 ? position : 0, skip: skip, count: count)
        }

        /// Reads the receiver's head and checks it: a multiple of 8, not behind the
        /// last one seen, not past the tail. `EPROTO` otherwise.
        mutating func refreshHead(_ operation: String) throws(IPCError) {
            let ring = channel.ring
            let published = ring.head.pointee.load(ordering: .acquiring)
            if published & 7 != 0 || published < head || published > tail {
                throw IPCError(.protocolError, operation: operation, object: ring.object,
                               detail: "the receiver's head is \(published), outside \(head)...\(tail) or not a multiple of 8: damaged by another process")
            }
            head = published
        }

        /// The bytes of a claim, to write the message into.
        func buffer(_ claim: Claim) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: channel.ring.bytes + Int(claim.position) + ChannelRecord.headerSize, count: claim.count)
        }

        /// Writes the record's header (and the wrap marker), publishes the new tail
        /// and wakes the receiver if it sleeps.
        mutating func commit(_ claim: Claim, _ operation: String) throws(IPCError) {
            let ring = channel.ring
            if claim.skip != 0 {
                ring.storeHeader(ChannelRecord.header(length: ChannelRecord.wrapMarker), at: tail & (ring.capacity - 1))
            }
            ring.storeHeader(ChannelRecord.header(length: UInt32(claim.count)), at: claim.position)
            tail += claim.skip + UInt64(ChannelRecord.size(length: claim.count))
            ring.tail.pointee.store(tail, ordering: .sequentiallyConsistent)
            try channel.placed.mapping.checkAfterAccess(operation)
            try receiverSleep.wakeIfAsleep()
        }

        /// Claims, lets `body` write, commits — or waits for room until `deadline`
        /// (nil: do not wait). Returns nil when it did not wait and there was no room.
        mutating func send<R>(_ count: Int, until deadline: Deadline?, _ operation: String,
                              _ body: (inout MutableRawSpan) throws -> R) throws -> R? {
            while true {
                if let claim = try claim(count, operation) {
                    var span = unsafe MutableRawSpan(_unsafeBytes: buffer(claim))
                    let result = try body(&span)
                    try commit(claim, operation)
                    return result
                }
                guard let deadline else { return nil }
                try sleep.wait(whileAt: head, until: deadline)
            }
        }
    }
}
