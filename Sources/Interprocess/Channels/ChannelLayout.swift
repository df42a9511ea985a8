import Synchronization

/// The shared memory of a channel (SPEC M5): a placed object (`SharedLayout` type
/// `ipc.channel`, version 1) whose parts are, in order:
///
/// | part | written by | what |
/// |---|---|---|
/// | capacity, maximum message size, producers, policy | the creator | the geometry, read first and checked on open |
/// | receiver record | the receiver when it attaches | pid, start time, PID namespace |
/// | data word, receiver asleep, receiver barrier (one cache line) | senders, the receiver | the futex the receiver sleeps on; "I sleep, wake me"; "I run membarrier before I sleep" (see `ChannelBell`) |
/// | one slot per producer | | see `ChannelSlotPlaces` |
///
/// The geometry words sit at fixed offsets right after the placement header, so an
/// opener reads them once the object is ready, builds the same layout, and
/// `PlacedMapping.open` checks the rest (type, version, size, signature: a
/// tampered geometry gives another size or shape, and is refused).
struct ChannelLayout {
    static let type = "ipc.channel"
    static let version: UInt32 = 2
    static let minimumCapacity = 64
    /// Record lengths are 32-bit; a gigabyte is plenty for a ring.
    static let maximumCapacity = 1 << 30
    static let maximumProducers = 64
    static let cacheLine = 64

    var layout: SharedLayout
    let capacity: Int
    let producers: Int
    let capacityPlace: SharedPlace<Atomic<UInt64>>
    let maximumMessageSizePlace: SharedPlace<Atomic<UInt64>>
    let producersPlace: SharedPlace<Atomic<UInt64>>
    let whenFullPlace: SharedPlace<Atomic<UInt64>>
    let receiver: ChannelPeerPlaces
    let dataWord: SharedPlace<Atomic<UInt32>>
    let receiverAsleep: SharedPlace<Atomic<UInt32>>
    let receiverBarrier: SharedPlace<Atomic<UInt32>>
    let slots: [ChannelSlotPlaces]

    /// The layout of a channel of `producers` rings of `capacity` bytes each
    /// (unchecked: see `checkGeometry`).
    init(capacity: Int, maximumMessageSize: Int, producers: Int = 1,
         whenFull: SharedMemoryChannel.FullPolicy = .block) throws(IPCError) {
        var layout = try SharedLayout(type: Self.type, version: Self.version)
        capacityPlace = try layout.atomic(UInt64.self, initialValue: UInt64(capacity))
        maximumMessageSizePlace = try layout.atomic(UInt64.self, initialValue: UInt64(maximumMessageSize))
        producersPlace = try layout.atomic(UInt64.self, initialValue: UInt64(producers))
        whenFullPlace = try layout.atomic(UInt64.self, initialValue: whenFull.rawValue)
        receiver = try ChannelPeerPlaces(&layout)
        dataWord = try layout.add(.atomic, size: 4, alignment: Self.cacheLine, initialValue: 0)
        receiverAsleep = try layout.atomic(UInt32.self)
        receiverBarrier = try layout.atomic(UInt32.self)
        var slots: [ChannelSlotPlaces] = []
        for _ in 0..<producers { slots.append(try ChannelSlotPlaces(&layout, capacity: capacity)) }
        self.slots = slots
        self.layout = layout
        self.capacity = capacity
        self.producers = producers
    }

    /// Where the geometry words lie: the same for every channel.
    static let geometryOffsets: (capacity: Int, maximumMessageSize: Int, producers: Int, whenFull: Int) = {
        guard let parts = try? ChannelLayout(capacity: minimumCapacity, maximumMessageSize: 1) else { return (0, 0, 0, 0) }
        return (parts.capacityPlace.offset, parts.maximumMessageSizePlace.offset, parts.producersPlace.offset, parts.whenFullPlace.offset)
    }()

    /// The largest message a ring of `capacity` bytes can take: a record (8-byte
    /// header, the bytes padded to 8) of at most half the ring always fits once the
    /// receiver has caught up, wherever the tail stands.
    static func largestMessage(capacity: Int) -> Int { capacity / 2 - ChannelRecord.headerSize }

    /// Throws `EINVAL` unless `capacity` is a power of two from 64 bytes to 1 GiB,
    /// `maximumMessageSize` is from 1 to `capacity / 2 - 8` and `producers` from 1
    /// to 64.
    static func checkGeometry(capacity: Int, maximumMessageSize: Int, producers: Int,
                              operation: String, object: String) throws(IPCError) {
        if capacity < minimumCapacity || capacity > maximumCapacity || capacity & (capacity - 1) != 0 {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "a channel's capacity is a power of two from \(minimumCapacity) bytes to \(maximumCapacity), not \(capacity)")
        }
        let largest = largestMessage(capacity: capacity)
        if maximumMessageSize < 1 || maximumMessageSize > largest {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "the maximum message size of a \(capacity)-byte channel is 1 to \(largest) bytes, not \(maximumMessageSize)")
        }
        if producers < 1 || producers > maximumProducers {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "a channel has 1 to \(maximumProducers) producers, not \(producers)")
        }
    }
}

/// One producer's part of the channel: its record, its ring, and the two indices,
/// each on its own cache line. Each line is written on the hot path by one side
/// only, and read by the other only off it (when the ring looks full, or to
/// sleep), so a message moves no cache line but the ring's own.
///
/// | part | written by | what |
/// |---|---|---|
/// | sender record | the producer when it attaches | pid, start time, PID namespace |
/// | tail, dropped (one cache line) | the producer | bytes committed (only grows); messages dropped when full |
/// | head, space word, sender asleep, sender barrier (one cache line) | the receiver; the producer only to sleep | bytes released (only grows); the futex the producer sleeps on; "I sleep on the space word, wake me"; "I run membarrier before I sleep" |
/// | the ring | both | `capacity` bytes of records |
struct ChannelSlotPlaces {
    let sender: ChannelPeerPlaces
    let tail: SharedPlace<Atomic<UInt64>>
    let dropped: SharedPlace<Atomic<UInt64>>
    let head: SharedPlace<Atomic<UInt64>>
    let spaceWord: SharedPlace<Atomic<UInt32>>
    let senderAsleep: SharedPlace<Atomic<UInt32>>
    let senderBarrier: SharedPlace<Atomic<UInt32>>
    let ring: SharedPlace<SharedBytes>

    init(_ layout: inout SharedLayout, capacity: Int) throws(IPCError) {
        sender = try ChannelPeerPlaces(&layout)
        tail = try layout.add(.atomic, size: 8, alignment: ChannelLayout.cacheLine, initialValue: 0)
        dropped = try layout.atomic(UInt64.self)
        head = try layout.add(.atomic, size: 8, alignment: ChannelLayout.cacheLine, initialValue: 0)
        spaceWord = try layout.atomic(UInt32.self)
        senderAsleep = try layout.atomic(UInt32.self)
        senderBarrier = try layout.atomic(UInt32.self)
        ring = try layout.bytes(count: capacity, alignment: ChannelLayout.cacheLine)
    }
}

/// Where a side's identity lies: the pid it claimed (compare-and-swap), then its
/// start time and PID namespace, then its pid again once those are written.
struct ChannelPeerPlaces {
    let pid: SharedPlace<Atomic<Int32>>
    let identified: SharedPlace<Atomic<Int32>>
    let startTime: SharedPlace<Atomic<UInt64>>
    let pidNamespace: SharedPlace<Atomic<UInt64>>

    init(_ layout: inout SharedLayout) throws(IPCError) {
        pid = try layout.atomic(Int32.self)
        identified = try layout.atomic(Int32.self)
        startTime = try layout.atomic(UInt64.self)
        pidNamespace = try layout.atomic(UInt64.self)
    }
}

/// A record in the ring: an 8-byte header, then the bytes, padded to a multiple
/// of 8. The header is the length (low 32 bits) and a check (high 32 bits): the
/// length's complement XOR the record's position in the stream (its absolute
/// offset / 8, truncated). A header whose length is `wrapMarker` says "the rest of
/// the ring is unused: go on at its start"; one whose length is `padMarker` says
/// "go on where the next record's bytes start on a cache line".
///
/// The header is written last, with release ordering: it is the commit. A
/// receiver waiting at stream position P knows a record is there when the header
/// at P's ring offset checks out for P — one read of the line that holds the
/// message too, not of the producer's tail. A header left from an earlier lap
/// names another position, so it never passes.
enum ChannelRecord {
    static let headerSize = 8
    static let wrapMarker: UInt32 = .max
    /// A header whose length is this says "padding: go on at the next offset
    /// where a record's bytes start on a cache line" (see `padding(at:)`).
    static let padMarker: UInt32 = .max - 1
    /// Messages this long or longer start on a cache line: copies in and out of
    /// the ring are then aligned (the C rings' slots are), at the price of up to
    /// 56 bytes of padding.
    static let alignedFrom = 128

    /// The padding before a record at ring offset `offset` so that its bytes (after
    /// the 8-byte header) start on a 64-byte line: 0 to 56, a multiple of 8.
    @inline(__always)
    static func padding(at offset: UInt64) -> UInt64 { (120 &- offset % 64) % 64 }

    /// The header of a record of `length` bytes at stream position `position`.
    @inline(__always)
    static func header(length: UInt32, at position: UInt64) -> UInt64 {
        UInt64(length) | UInt64(~length ^ UInt32(truncatingIfNeeded: position >> 3)) << 32
    }

    /// The length in `header` when it is a committed header for `position`.
    @inline(__always)
    static func length(_ header: UInt64, at position: UInt64) -> UInt32? {
        let length = UInt32(truncatingIfNeeded: header)
        return UInt32(truncatingIfNeeded: header >> 32) == ~length ^ UInt32(truncatingIfNeeded: position >> 3) ? length : nil
    }

    /// The bytes a record of `length` bytes takes in the ring.
    @inline(__always)
    static func size(length: Int) -> Int { headerSize + (length + 7) & ~7 }
}
