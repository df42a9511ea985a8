import Synchronization

extension SharedMemoryChannel {
    /// Makes this channel value the sending end (SPEC M5), recorded in the memory
    /// as the channel's sender. Throws `EBUSY` when another live process is the
    /// sender (a dead one is replaced), `EPROTO` when the indices in the memory are
    /// inconsistent.
    ///
    /// `spinning`: how long a wait spins, checking the other end, before it sleeps
    /// on the futex — measured on the monotonic clock, not counted in turns (the
    /// default, 20 µs; `.zero` sleeps at once: the least processor time, one kernel
    /// wake-up per wait).
    public consuming func sender(spinning: Duration = SharedMemoryChannel.defaultSpinning) throws(IPCError) -> Sender {
        try Sender(self, spinning: ChannelSleep.nanoseconds(spinning))
    }

    /// The sending end of a channel: claims space in its ring, lets the caller write
    /// the message in place, and commits it (SPEC M5). A channel made for several
    /// producers gives each its own ring (a slot), so producers never contend and a
    /// producer killed between claiming and committing has published nothing and
    /// blocks nobody.
    ///
    /// The tail (bytes committed) is this end's own: it is kept here and only
    /// published; the receiver's head is read from shared memory and validated
    /// every time (a multiple of 8, never moving back, never past the tail), so a
    /// damaged or hostile receiver makes a call throw `EPROTO`, never write outside
    /// the ring.
    public struct Sender: ~Copyable, @unchecked Sendable {
        let channel: SharedMemoryChannel
        let slot: ChannelSlot
        /// Bytes committed (private; published to the shared tail).
        var tail: UInt64
        /// The receiver's head as last read and validated.
        var head: UInt64
        /// How this end sleeps when the ring is full.
        let sleep: ChannelSleep
        /// Where a message goes when the policy drops it (made at the first drop).
        var scratch: UnsafeMutableRawBufferPointer?
        /// The message claimed and not yet committed.
        var pending = Claim()
        /// The ring's size, and the largest message (from the channel, kept here
        /// for the hot path).
        let capacity64: UInt64
        let maximum: Int
        /// The futex word the receiver sleeps on, and its flag: rung after a commit.
        let data: ChannelBell
        /// Whether this process takes part in membarrier's barriers (see `ChannelBell`).
        let fenceFree: Bool
        /// The mapping's `SIGBUS` guard, checked after each message is written.
        let faults: MappingFaultGuard

        init(_ channel: consuming SharedMemoryChannel, spinning: UInt64) throws(IPCError) {
            let ring = channel.ring
            let slot = try Self.claimSlot(ring)
            let (head, tail) = try Self.indices(of: slot, ring)
            self.slot = slot
            self.head = head
            // A producer killed between writing a header and publishing its tail
            // leaves committed records past the tail (the head may be past it too):
            // go on where they end, and publish that.
            let committed = Self.committedEnd(slot, from: max(head, tail), head: head, capacity: ring.capacity,
                                              maximum: ring.maximumMessageSize)
            if committed != tail { slot.tail.pointee.store(committed, ordering: .releasing) }
            self.tail = committed
            scratch = nil
            capacity64 = ring.capacity
            maximum = ring.maximumMessageSize
            data = ring.data
            fenceFree = Membarrier.registerProcess()
            slot.space.announce(registered: fenceFree, spinning: spinning)
            faults = channel.placed.mapping.faultGuard
            sleep = ChannelSleep(spinning: spinning, bell: slot.space, peers: [ring.receiver],
                                 object: ring.object, operation: "SharedMemoryChannel.send")
            self.channel = channel
        }

        /// The slot's indices as this end finds them; the slot given back when they
        /// are inconsistent.
        private static func indices(of slot: ChannelSlot, _ ring: ChannelRing) throws(IPCError) -> (UInt64, UInt64) {
            do throws(IPCError) {
                return try slot.attachedIndices(capacity: ring.capacity, "SharedMemoryChannel.sender", object: ring.object)
            } catch {
                slot.sender.close()
                throw error
            }
        }

        /// The first slot that is free, closed or whose producer is gone, recorded
        /// as this process's by compare-and-swap. `EBUSY` when every slot has a
        /// live producer.
        private static func claimSlot(_ ring: ChannelRing) throws(IPCError) -> ChannelSlot {
            let operation = "SharedMemoryChannel.sender"
            if ring.slots.count == 1 {
                try ring.slots[0].sender.claim(operation, object: ring.object)
                return ring.slots[0]
            }
            let me = ProcessIdentity.current
            for _ in 0..<8 {
                var holders: [pid_t] = []
                for slot in ring.slots {
                    let raw = slot.sender.pid.pointee.load(ordering: .acquiring)
                    switch slot.sender.state {
                    case .attached(let pid): holders.append(pid); continue
                    case .none, .closed, .gone:
                        if slot.sender.tryClaim(replacing: raw, me) { return slot }
                    }
                }
                if holders.count == ring.slots.count {
                    throw IPCError(.resourceBusy, operation: operation, object: ring.object,
                                   detail: "all \(ring.slots.count) producer slots are taken (pids \(holders.map(String.init).joined(separator: ", ")))")
                }
            }
            throw IPCError(.resourceBusy, operation: operation, object: ring.object,
                           detail: "other processes kept taking the free producer slots")
        }

        /// Marks this end closed in the memory: the receiver, once it has taken
        /// every message, gets `EPIPE`; another process may become the sender.
        deinit {
            slot.sender.close()
            scratch?.deallocate()
        }

        /// The capacity of the ring in bytes.
        public var capacity: Int { channel.capacity }
        /// The largest message this channel takes.
        public var maximumMessageSize: Int { channel.maximumMessageSize }
        /// Which of the channel's producer slots this end holds (0 for a single producer).
        public var producerIndex: Int { slot.index }
        /// Messages this producer slot dropped because the ring was full (policy
        /// `drop`), counted in the shared memory since the channel was created.
        public var droppedCount: UInt64 { slot.dropped.pointee.load(ordering: .relaxed) }
        /// The shared memory object (its `descriptor` can be handed to a child).
        public var memory: PosixSharedMemory { _read { yield channel.memory } }

        /// Where a claimed message goes: its header's ring offset, and the bytes
        /// skipped before it (a wrap marker at the old tail), both committed with it.
        struct Claim {
            /// The record's ring offset.
            var position: UInt64 = 0
            /// Bytes skipped at the ring's end (a wrap marker at the old tail).
            var skip: UInt64 = 0
            /// Bytes of padding before the record (a padding marker), so its bytes
            /// start on a cache line.
            var pad: UInt64 = 0
            var count: Int = 0
        }

        /// Room for `count` bytes — the bytes to write the message into, claimed
        /// until `commit` — or nil when the ring is full for now. Reads the
        /// receiver's head only when the last one seen leaves too little room. A
        /// message of `ChannelRecord.alignedFrom` bytes or more starts on a cache
        /// line (padding before it), unless the padding would make it too large
        /// for the ring.
        @usableFromInline
        mutating func claim(_ count: Int, _ operation: String) throws(IPCError) -> UnsafeMutableRawBufferPointer? {
            if count < 0 || count > maximum {
                throw IPCError(.messageTooLong, operation: operation, object: channel.ring.object,
                               detail: "a message of \(count) bytes; this channel takes at most \(maximum)")
            }
            let size = UInt64(ChannelRecord.size(length: count))
            let position = tail & (capacity64 - 1)
            let aligned = count >= ChannelRecord.alignedFrom
            var pad = aligned ? ChannelRecord.padding(at: position) : 0
            var skip: UInt64 = capacity64 - position < pad + size ? capacity64 - position : 0
            if skip != 0 { pad = aligned ? ChannelRecord.padding(at: 0) : 0 }
            if skip + pad + size > capacity64 {
                pad = 0
                skip = capacity64 - position < size ? capacity64 - position : 0
            }
            let needed = skip + pad + size
            if tail - head + needed > capacity64 {
                try refreshHead(operation)
                if tail - head + needed > capacity64 { return nil }
            }
            pending = Claim(position: (skip == 0 ? position : 0) + pad, skip: skip, pad: pad, count: count)
            return UnsafeMutableRawBufferPointer(start: slot.bytes + Int(pending.position) + ChannelRecord.headerSize, count: count)
        }

        /// Reads the receiver's head and checks it: a multiple of 8, not behind the
        /// last one seen, not past the tail. `EPROTO` otherwise.
        mutating func refreshHead(_ operation: String) throws(IPCError) {
            let published = slot.head.pointee.load(ordering: .acquiring)
            if published & 7 != 0 || published < head || published > tail {
                throw IPCError(.protocolError, operation: operation, object: channel.ring.object,
                               detail: "the receiver's head is \(published), outside \(head)...\(tail) or not a multiple of 8: damaged by another process")
            }
            head = published
        }

        /// Commits the claimed message: writes the record's header (and the wrap
        /// marker), publishes the new tail and wakes the receiver if it sleeps.
        @usableFromInline
        mutating func commit(_ operation: String) throws(IPCError) {
            let claim = pending
            // The record's header, then the padding and wrap markers before it, last
            // to first: each is a commit, and what it leads to is written already.
            slot.storeHeader(ChannelRecord.header(length: UInt32(claim.count), at: tail + claim.skip + claim.pad), at: claim.position)
            if claim.pad != 0 {
                slot.storeHeader(ChannelRecord.header(length: ChannelRecord.padMarker, at: tail + claim.skip), at: claim.position - claim.pad)
            }
            if claim.skip != 0 {
                slot.storeHeader(ChannelRecord.header(length: ChannelRecord.wrapMarker, at: tail), at: tail & (capacity64 - 1))
            }
            tail += claim.skip + claim.pad + UInt64(ChannelRecord.size(length: claim.count))
            if faults.hasFaulted { throw channel.placed.mapping.damageError(operation) }
            try data.publish(tail, to: slot.tail, fenceFree: fenceFree)
        }

        /// The ring is full: follows the channel's policy — waits for room until
        /// `deadline` (false: try again), throws `EAGAIN`, or returns true: drop
        /// the message.
        @usableFromInline
        func waitForRoom(until deadline: Deadline, _ operation: String) throws(IPCError) -> Bool {
            switch channel.ring.whenFull {
            case .block:
                let seen = head, index = slot.head
                try sleep.wait(until: deadline) { index.pointee.load(ordering: .acquiring) != seen }
                return false
            case .fail:
                throw full(operation)
            case .drop:
                return true
            }
        }

        /// The async form of `waitForRoom`.
        @usableFromInline
        func waitForRoomAsync(until deadline: Deadline, _ operation: String) async throws -> Bool {
            switch channel.ring.whenFull {
            case .block:
                let seen = head, index = slot.head
                try await sleep.waitAsync(until: deadline) { index.pointee.load(ordering: .acquiring) != seen }
                return false
            case .fail:
                throw full(operation)
            case .drop:
                return true
            }
        }

        /// `EAGAIN`: the ring is full and the channel's policy is `fail`.
        func full(_ operation: String) -> IPCError {
            IPCError(.resourceTemporarilyUnavailable, operation: operation, object: channel.ring.object,
                     detail: "the channel is full (its policy when full is \"fail\")")
        }

        /// Policy `drop`: counts a message of `count` bytes dropped and gives the
        /// private scratch buffer to write it into, so the in-place forms still
        /// return their closure's result.
        @usableFromInline
        mutating func dropped(_ count: Int) -> UnsafeMutableRawBufferPointer {
            let buffer: UnsafeMutableRawBufferPointer
            if let scratch { buffer = scratch } else {
                buffer = .allocate(byteCount: max(1, maximum), alignment: 16)
                scratch = buffer
            }
            slot.dropped.pointee.wrappingAdd(1, ordering: .relaxed)
            return UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
        }

        /// Claims, lets `body` write, commits — or, when the ring is full, follows
        /// the channel's policy (`waitForRoom`). `deadline` nil: do not wait, drop
        /// or throw; nil returned when there was no room. Inlinable, so that each
        /// caller gets it specialised for its `R`: no generic dispatch per message.
        @inlinable
        mutating func send<R>(_ count: Int, until deadline: Deadline?, _ operation: String,
                              _ body: (inout MutableRawSpan) throws -> R) throws -> R? {
            while true {
                if let buffer = try claim(count, operation) {
                    var span = unsafe MutableRawSpan(_unsafeBytes: buffer)
                    let result = try body(&span)
                    try commit(operation)
                    return result
                }
                guard let deadline else { return nil }
                if try waitForRoom(until: deadline, operation) {
                    var span = unsafe MutableRawSpan(_unsafeBytes: dropped(count))
                    return try body(&span)
                }
            }
        }
    }
}
