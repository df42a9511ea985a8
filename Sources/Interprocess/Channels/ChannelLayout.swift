import Synchronization

/// The shared memory of a single-producer/single-consumer channel (SPEC M5): a
/// placed object (`SharedLayout` type `ipc.channel.spsc`, version 1) whose parts
/// are, in order:
///
/// | part | written by | what |
/// |---|---|---|
/// | capacity, maximum message size | the creator | the geometry, checked on open |
/// | sender record, receiver record | each side when it attaches | pid, start time, PID namespace |
/// | tail, data word, sender asleep (one cache line) | the sender | bytes committed; the futex a receiver sleeps on; "I sleep, wake me" |
/// | head, space word, receiver asleep (one cache line) | the receiver | bytes released; the futex a sender sleeps on; "I sleep, wake me" |
/// | the ring | both | `capacity` bytes of records |
///
/// Everything before the ring has a fixed size, so an opener learns the capacity
/// from the object's size, builds the same layout, and `PlacedMapping.open`
/// checks the rest (type, version, size, signature).
struct ChannelLayout {
    static let type = "ipc.channel.spsc"
    static let version: UInt32 = 1
    static let minimumCapacity = 64
    /// Record lengths are 32-bit; a gigabyte is plenty for a ring.
    static let maximumCapacity = 1 << 30
    static let cacheLine = 64

    var layout: SharedLayout
    let capacity: Int
    let capacityPlace: SharedPlace<Atomic<UInt64>>
    let maximumMessageSizePlace: SharedPlace<Atomic<UInt64>>
    let sender: ChannelPeerPlaces
    let receiver: ChannelPeerPlaces
    let tail: SharedPlace<Atomic<UInt64>>
    let dataWord: SharedPlace<Atomic<UInt32>>
    let senderAsleep: SharedPlace<Atomic<UInt32>>
    let head: SharedPlace<Atomic<UInt64>>
    let spaceWord: SharedPlace<Atomic<UInt32>>
    let receiverAsleep: SharedPlace<Atomic<UInt32>>
    let ring: SharedPlace<SharedBytes>

    /// The layout of a channel of `capacity` bytes (unchecked: see `checkGeometry`).
    init(capacity: Int, maximumMessageSize: Int) throws(IPCError) {
        var layout = try SharedLayout(type: Self.type, version: Self.version)
        capacityPlace = try layout.atomic(UInt64.self, initialValue: UInt64(capacity))
        maximumMessageSizePlace = try layout.atomic(UInt64.self, initialValue: UInt64(maximumMessageSize))
        sender = try ChannelPeerPlaces(&layout)
        receiver = try ChannelPeerPlaces(&layout)
        tail = try layout.add(.atomic, size: 8, alignment: Self.cacheLine, initialValue: 0)
        dataWord = try layout.atomic(UInt32.self)
        senderAsleep = try layout.atomic(UInt32.self)
        head = try layout.add(.atomic, size: 8, alignment: Self.cacheLine, initialValue: 0)
        spaceWord = try layout.atomic(UInt32.self)
        receiverAsleep = try layout.atomic(UInt32.self)
        ring = try layout.bytes(count: capacity, alignment: Self.cacheLine)
        self.layout = layout
        self.capacity = capacity
    }

    /// Where the ring starts: the same for every capacity.
    static var ringOffset: Int {
        // Built once with the smallest ring; every part before it has a fixed size.
        (try? ChannelLayout(capacity: minimumCapacity, maximumMessageSize: 1).ring.offset) ?? 0
    }

    /// The layout for an object of `size` bytes: its capacity is what follows the
    /// fixed parts. A size that gives no valid capacity gets the smallest layout,
    /// so that `PlacedMapping.open` reports what is wrong (another type, another
    /// version, or the size).
    static func forObject(size: Int) throws(IPCError) -> ChannelLayout {
        let capacity = size - ringOffset
        let valid = capacity >= minimumCapacity && capacity <= maximumCapacity && capacity & (capacity - 1) == 0
        return try ChannelLayout(capacity: valid ? capacity : minimumCapacity, maximumMessageSize: 1)
    }

    /// The largest message a ring of `capacity` bytes can take: a record (8-byte
    /// header, the bytes padded to 8) of at most half the ring always fits once the
    /// receiver has caught up, wherever the tail stands.
    static func largestMessage(capacity: Int) -> Int { capacity / 2 - ChannelRecord.headerSize }

    /// Throws `EINVAL` unless `capacity` is a power of two from 64 bytes to 1 GiB and
    /// `maximumMessageSize` is from 1 to `capacity / 2 - 8`.
    static func checkGeometry(capacity: Int, maximumMessageSize: Int, operation: String, object: String) throws(IPCError) {
        if capacity < minimumCapacity || capacity > maximumCapacity || capacity & (capacity - 1) != 0 {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "a channel's capacity is a power of two from \(minimumCapacity) bytes to \(maximumCapacity), not \(capacity)")
        }
        let largest = largestMessage(capacity: capacity)
        if maximumMessageSize < 1 || maximumMessageSize > largest {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "the maximum message size of a \(capacity)-byte channel is 1 to \(largest) bytes, not \(maximumMessageSize)")
        }
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

/// A record in the ring: an 8-byte header (the length, and its complement as a
/// check), then the bytes, padded to a multiple of 8. A header whose length is
/// `wrapMarker` says "the rest of the ring is unused: go on at its start".
enum ChannelRecord {
    static let headerSize = 8
    static let wrapMarker: UInt32 = .max

    /// The header as one 64-bit word: the length, its complement above.
    @inline(__always)
    static func header(length: UInt32) -> UInt64 { UInt64(length) | UInt64(~length) << 32 }

    /// The bytes a record of `length` bytes takes in the ring.
    @inline(__always)
    static func size(length: Int) -> Int { headerSize + (length + 7) & ~7 }
}
