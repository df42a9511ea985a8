import Synchronization

extension SharedMemoryChannel {
    /// Makes this channel value the receiving end (SPEC M5), recorded in the memory
    /// as the channel's receiver. Throws `EBUSY` when another live process is the
    /// receiver (a dead one is replaced: messages it was reading and had not
    /// released come again), `EPROTO` when the indices in the memory are
    /// inconsistent.
    ///
    /// `spinning`: how long a wait spins, checking the other end, before it sleeps
    /// on the futex — measured on the monotonic clock, not counted in turns (the
    /// default, 20 µs; `.zero` sleeps at once: the least processor time, one kernel
    /// wake-up per wait).
    public consuming func receiver(spinning: Duration = SharedMemoryChannel.defaultSpinning) throws(IPCError) -> Receiver {
        try Receiver(self, spinning: ChannelSleep.nanoseconds(spinning))
    }

    /// The receiving end of a channel: reads each message in place and releases it
    /// (SPEC M5). With several producers it takes their rings in turn, one message
    /// each, so a busy producer cannot starve the others; each producer's messages
    /// come in the order it sent them.
    ///
    /// The heads (bytes released, one per ring) are this end's own: kept here and
    /// only published. Everything else is read from shared memory and validated
    /// before use — each producer's tail (a multiple of 8, never moving back, never
    /// more than the capacity ahead), each record's header (its check, a length
    /// within the maximum, inside the published bytes and inside the ring) and each
    /// wrap marker (not at the start, inside the published bytes) — so a damaged or
    /// hostile producer makes a call throw `EPROTO` or `EBADMSG`, never read outside
    /// the ring or loop.
    public struct Receiver: ~Copyable, @unchecked Sendable {
        let channel: SharedMemoryChannel
        /// This end's position in each producer's ring.
        let cursors: UnsafeMutableBufferPointer<Cursor>
        /// The ring to look at first: the one after the last message's.
        var next = 0
        /// The message lent and not yet released.
        var current = Message(slot: 0, offset: 0, count: 0, size: 0)
        /// How this end sleeps when every ring is empty.
        let sleep: ChannelSleep
        /// The doorbell, once asked for: armed whenever a `try` form finds every
        /// ring empty.
        var bell: ChannelDoorbell?
        /// Whether this process takes part in membarrier's barriers (see `ChannelBell`).
        let fenceFree: Bool
        /// The mapping's `SIGBUS` guard, checked after each message is read.
        let faults: MappingFaultGuard

        /// This end's own view of one ring.
        struct Cursor {
            /// Bytes released (private; published to the shared head).
            var head: UInt64
            /// What was last stored in the shared head.
            var published: UInt64
            /// The producer's tail as last read and validated.
            var tail: UInt64
        }

        init(_ channel: consuming SharedMemoryChannel, spinning: UInt64) throws(IPCError) {
            let ring = channel.ring
            let operation = "SharedMemoryChannel.receiver"
            try ring.receiver.claim(operation, object: ring.object)
            cursors = try Self.cursors(ring, operation)
            sleep = ChannelSleep(spinning: spinning, bell: ring.data, peers: ring.slots.map(\.sender),
                                 object: ring.object, operation: "SharedMemoryChannel.receive")
            bell = nil
            fenceFree = Membarrier.registerProcess()
            ring.data.announce(registered: fenceFree, spinning: spinning)
            faults = channel.placed.mapping.faultGuard
            self.channel = channel
        }

        /// This end's cursors, at the indices each ring has now; the receiver's side
        /// given back when any is inconsistent.
        private static func cursors(_ ring: ChannelRing, _ operation: String) throws(IPCError) -> UnsafeMutableBufferPointer<Cursor> {
            let cursors = UnsafeMutableBufferPointer<Cursor>.allocate(capacity: ring.slots.count)
            for slot in ring.slots {
                do throws(IPCError) {
                    let (head, tail) = try slot.attachedIndices(capacity: ring.capacity, operation, object: ring.object)
                    cursors.initializeElement(at: slot.index, to: Cursor(head: head, published: head, tail: tail))
                } catch {
                    cursors.deallocate()
                    ring.receiver.close()
                    throw error
                }
            }
            return cursors
        }

        /// Marks this end closed in the memory: a sender waiting for room gets
        /// `EPIPE`; another process may become the receiver.
        deinit {
            bell?.stop()
            channel.ring.receiver.close()
            cursors.deallocate()
        }

        /// This receiver's doorbell (made on first call, the same one after): an
        /// eventfd that becomes readable when a message may be waiting, to wait on
        /// the channel together with other descriptors. See `ChannelDoorbell`.
        public mutating func doorbell() throws(IPCError) -> ChannelDoorbell {
            if let bell { return bell }
            let made = try ChannelDoorbell(channel.ring)
            bell = made
            return made
        }

        /// The capacity of each ring in bytes.
        public var capacity: Int { channel.capacity }
        /// The largest message this channel takes.
        public var maximumMessageSize: Int { channel.maximumMessageSize }
        /// The shared memory object (its `descriptor` can be handed to a child).
        public var memory: PosixSharedMemory { _read { yield channel.memory } }

        /// A message found in a ring: which ring, where its bytes are, how many, and
        /// the record's size to release.
        struct Message {
            var slot: Int
            var offset: UInt64
            var count: Int
            var size: UInt64
        }

        /// The next message, taking the rings in turn, or nil when all are empty now.
        mutating func next(_ operation: String) throws(IPCError) -> Message? {
            let count = cursors.count
            var index = next
            for _ in 0..<count {
                if let message = try next(in: index, operation) {
                    next = index + 1 == count ? 0 : index + 1
                    return message
                }
                index = index + 1 == count ? 0 : index + 1
            }
            return nil
        }

        /// The next message of ring `index`, or nil when it is empty now. The
        /// header at the head is the commit: when it checks out for this position
        /// the record is there; only when it does not is the producer's tail read,
        /// to tell "nothing yet" (tail not past the head) from damage (a tail past
        /// the head over a header that fails: `EBADMSG`). At most a wrap marker and
        /// a padding marker are passed before a record (more is refused), so this
        /// never loops.
        private mutating func next(in index: Int, _ operation: String) throws(IPCError) -> Message? {
            let slot = channel.ring.slots[index]
            let capacity = channel.ring.capacity
            for _ in 0..<3 {
                let head = cursors[index].head
                let position = head & (capacity - 1)
                var length = ChannelRecord.length(slot.loadHeader(at: position), at: head)
                if length == nil {
                    try refreshTail(index, operation)
                    let tail = cursors[index].tail
                    if tail <= head {
                        try publish(index, operation)
                        return nil
                    }
                    let header = slot.loadHeader(at: position)
                    length = ChannelRecord.length(header, at: head)
                    if length == nil {
                        throw badRecord(slot, operation, "the record header at ring offset \(position) (0x\(String(header, radix: 16))) fails its check, with \(tail - head) bytes published after it")
                    }
                }
                if faults.hasFaulted { throw channel.placed.mapping.damageError(operation) }
                guard let length else { continue }
                if length == ChannelRecord.wrapMarker {
                    if position == 0 {
                        throw badRecord(slot, operation, "a wrap marker at the ring's start")
                    }
                    advance(index, by: capacity - position)
                    continue
                }
                if length == ChannelRecord.padMarker {
                    let pad = ChannelRecord.padding(at: position)
                    if pad == 0 {
                        throw badRecord(slot, operation, "a padding marker at ring offset \(position), where no padding is due")
                    }
                    advance(index, by: pad)
                    continue
                }
                if Int(length) > channel.ring.maximumMessageSize {
                    throw badRecord(slot, operation, "a record of \(length) bytes at ring offset \(position); the maximum is \(channel.ring.maximumMessageSize)")
                }
                let size = UInt64(ChannelRecord.size(length: Int(length)))
                if position + size > capacity {
                    throw badRecord(slot, operation, "a record of \(length) bytes at ring offset \(position) runs past the ring's end")
                }
                return Message(slot: index, offset: position + UInt64(ChannelRecord.headerSize), count: Int(length), size: size)
            }
            throw badRecord(slot, operation, "markers leading to more markers (a wrap, a padding, then another)")
        }

        /// Moves this end's head in ring `index` on by `bytes`. (Read, then stored:
        /// `+=` on the buffer's element breaks the thread sanitizer's build of
        /// Swift 6.3.1 — "Invalid bitcast".)
        private func advance(_ index: Int, by bytes: UInt64) {
            let head = cursors[index].head
            cursors[index].head = head + bytes
        }

        /// Reads producer `index`'s tail and checks it: a multiple of 8, not behind
        /// the last one seen, at most the capacity ahead of the head. `EPROTO`
        /// otherwise. (It may be behind the head: see `next(in:)`.)
        private mutating func refreshTail(_ index: Int, _ operation: String) throws(IPCError) {
            let ring = channel.ring
            let seen = ring.slots[index].tail.pointee.load(ordering: .acquiring)
            let cursor = cursors[index]
            if seen & 7 != 0 || seen < cursor.tail || (seen > cursor.head && seen - cursor.head > ring.capacity) {
                throw IPCError(.protocolError, operation: operation, object: ring.object,
                               detail: "the \(ring.slots[index].sender.role)'s tail is \(seen), outside \(cursor.tail)...\(cursor.head + ring.capacity) or not a multiple of 8: damaged by another process")
            }
            cursors[index].tail = seen
        }

        /// Releases `message`: publishes the new head of its ring and wakes its
        /// producer if it sleeps for room.
        mutating func release(_ message: Message, _ operation: String) throws(IPCError) {
            advance(message.slot, by: message.size)
            try publish(message.slot, operation)
        }

        private mutating func publish(_ index: Int, _ operation: String) throws(IPCError) {
            let cursor = cursors[index]
            if cursor.published == cursor.head { return }
            let slot = channel.ring.slots[index]
            cursors[index].published = cursor.head
            try slot.space.publish(cursor.head, to: slot.head, fenceFree: fenceFree)
        }

        private func badRecord(_ slot: ChannelSlot, _ operation: String, _ what: String) -> IPCError {
            let whose = channel.ring.slots.count == 1 ? "" : " (\(slot.sender.role)'s ring)"
            return IPCError(.badMessage, operation: operation, object: channel.ring.object,
                            detail: "\(what)\(whose): damaged by another process")
        }

        /// True when a producer's published tail differs from the one last seen.
        @inline(__always)
        static func moved(_ slots: [ChannelSlot], _ cursors: UnsafeMutableBufferPointer<Cursor>) -> Bool {
            for index in 0..<cursors.count where slots[index].tail.pointee.load(ordering: .acquiring) != cursors[index].tail {
                return true
            }
            return false
        }

        /// The next message's bytes, lent until `release()` — or nil when every
        /// ring is empty now.
        @usableFromInline
        mutating func lend(_ operation: String) throws(IPCError) -> UnsafeRawBufferPointer? {
            guard let message = try next(operation) else { return nil }
            current = message
            return UnsafeRawBufferPointer(start: channel.ring.slots[message.slot].bytes + Int(message.offset), count: message.count)
        }

        /// Releases the message `lend` gave (after checking that reading it did not
        /// fault, when `read` is true).
        @usableFromInline
        mutating func release(afterReading read: Bool, _ operation: String) throws(IPCError) {
            let message = current
            try release(message, operation)
            if read, faults.hasFaulted { throw channel.placed.mapping.damageError(operation) }
        }

        /// Every ring is empty and the caller does not wait: arms the doorbell, if
        /// there is one.
        @usableFromInline
        func foundEmpty() throws(IPCError) {
            guard let bell else { return }
            let cursors = cursors
            try bell.arm { cursors[$0].tail }
        }

        /// Waits until a producer's tail moves, or `deadline`.
        @usableFromInline
        func waitForMessage(until deadline: Deadline) throws(IPCError) {
            let slots = channel.ring.slots, cursors = cursors
            try sleep.wait(until: deadline) { Self.moved(slots, cursors) }
        }

        /// The async form of `waitForMessage`.
        @usableFromInline
        func waitForMessageAsync(until deadline: Deadline) async throws {
            let slots = channel.ring.slots, cursors = cursors
            try await sleep.waitAsync(until: deadline) { Self.moved(slots, cursors) }
        }

        /// Finds the next message — waiting until `deadline` (nil: not at all) —
        /// lends it to `body`, and releases it when `body` returns or throws.
        /// Inlinable, so that each caller gets it specialised for its `R`.
        @inlinable
        mutating func receive<R>(until deadline: Deadline?, _ operation: String, keepingOnFailure: Bool = false,
                                 _ body: (RawSpan) throws -> R) throws -> R? {
            while true {
                if let bytes = try lend(operation) {
                    let result: R
                    do { result = try body(unsafe RawSpan(_unsafeBytes: bytes)) } catch {
                        if !keepingOnFailure { try release(afterReading: false, operation) }
                        throw error
                    }
                    try release(afterReading: true, operation)
                    return result
                }
                guard let deadline else {
                    try foundEmpty()
                    return nil
                }
                try waitForMessage(until: deadline)
            }
        }
    }
}
