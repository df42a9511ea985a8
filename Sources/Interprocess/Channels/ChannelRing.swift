import CInterprocess
import Synchronization

/// The addresses of a channel's parts in one mapping (SPEC M5), resolved once
/// through the mapping's checked accessors and valid while the channel holds the
/// mapping. Only `SharedMemoryChannel` and its ends use them.
struct ChannelRing: @unchecked Sendable {
    let capacity: UInt64
    let maximumMessageSize: Int
    let whenFull: SharedMemoryChannel.FullPolicy
    /// The futex word the receiver sleeps on, and its "asleep: wake me" flag.
    let data: ChannelBell
    let receiver: ChannelPeerRecord
    let slots: [ChannelSlot]
    let object: String

    /// Resolves every part of `parts` in `placed`: the whole layout is checked to
    /// lie in the mapping, readable and writable; the layout aligned each part.
    init(_ placed: borrowing PlacedMapping, _ parts: ChannelLayout, maximumMessageSize: Int,
         whenFull: SharedMemoryChannel.FullPolicy) throws(IPCError) {
        let base = try placed.mapping.address("SharedMemoryChannel", offset: 0, count: parts.layout.size, writing: true)
        func at<T: ~Copyable, P: ~Copyable>(_ place: SharedPlace<T>, _ type: P.Type) -> UnsafeMutablePointer<P> {
            (base + place.offset).assumingMemoryBound(to: P.self)
        }
        func record(_ places: ChannelPeerPlaces, _ role: ChannelPeerRecord.Role) -> ChannelPeerRecord {
            ChannelPeerRecord(pid: at(places.pid, Atomic<Int32>.self), identified: at(places.identified, Atomic<Int32>.self),
                              startTime: at(places.startTime, Atomic<UInt64>.self),
                              pidNamespace: at(places.pidNamespace, Atomic<UInt64>.self), role: role)
        }
        capacity = UInt64(parts.capacity)
        self.maximumMessageSize = maximumMessageSize
        self.whenFull = whenFull
        data = ChannelBell(word: at(parts.dataWord, UInt32.self), asleep: at(parts.receiverAsleep, Atomic<UInt32>.self),
                           barrier: at(parts.receiverBarrier, Atomic<UInt32>.self))
        receiver = record(parts.receiver, .receiver)
        slots = parts.slots.enumerated().map { index, slot in
            ChannelSlot(index: index, bytes: base + slot.ring.offset,
                        tail: at(slot.tail, Atomic<UInt64>.self), head: at(slot.head, Atomic<UInt64>.self),
                        dropped: at(slot.dropped, Atomic<UInt64>.self),
                        space: ChannelBell(word: at(slot.spaceWord, UInt32.self), asleep: at(slot.senderAsleep, Atomic<UInt32>.self),
                                           barrier: at(slot.senderBarrier, Atomic<UInt32>.self)),
                        sender: record(slot.sender, parts.producers == 1 ? .sender : .producer(index)))
        }
        object = placed.mapping.label
    }
}

/// One producer's ring in the mapping: its bytes, indices, counters and record.
struct ChannelSlot: @unchecked Sendable {
    let index: Int
    let bytes: UnsafeMutableRawPointer
    let tail: UnsafeMutablePointer<Atomic<UInt64>>
    let head: UnsafeMutablePointer<Atomic<UInt64>>
    let dropped: UnsafeMutablePointer<Atomic<UInt64>>
    /// The futex word this producer sleeps on when its ring is full, and its flag.
    let space: ChannelBell
    let sender: ChannelPeerRecord

    /// The indices as an end finds them when it attaches: both multiples of 8, at
    /// most `capacity` apart. The head may pass the tail: a receiver takes a record
    /// once its header is written, which may be just before the producer publishes
    /// its tail. Anything else is `EPROTO`.
    func attachedIndices(capacity: UInt64, _ operation: String, object: String) throws(IPCError) -> (head: UInt64, tail: UInt64) {
        let head = head.pointee.load(ordering: .acquiring)
        let tail = tail.pointee.load(ordering: .acquiring)
        let apart = head > tail ? head - tail : tail - head
        if head & 7 != 0 || tail & 7 != 0 || apart > capacity {
            throw IPCError(.protocolError, operation: operation, object: object,
                           detail: "the channel's indices are inconsistent (\(sender.role): head \(head), tail \(tail), capacity \(capacity)): damaged by another process")
        }
        return (head, tail)
    }

    /// The header word at ring offset `offset` (a multiple of 8 below the
    /// capacity), read with acquiring order: what it commits is visible after.
    @inline(__always)
    func loadHeader(at offset: UInt64) -> UInt64 {
        UnsafeMutableRawPointer(bytes + Int(offset)).assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .acquiring)
    }

    /// Writes a header with releasing order: the bytes written before it are
    /// visible to whoever reads it.
    @inline(__always)
    func storeHeader(_ header: UInt64, at offset: UInt64) {
        UnsafeMutableRawPointer(bytes + Int(offset)).assumingMemoryBound(to: Atomic<UInt64>.self).pointee.store(header, ordering: .releasing)
    }
}
