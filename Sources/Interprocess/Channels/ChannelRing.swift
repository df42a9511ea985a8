import CInterprocess
import Synchronization

/// The addresses of a channel's parts in one mapping (SPEC M5), resolved once
/// through the mapping's checked accessors and valid while the channel holds the
/// mapping. Only `SharedMemoryChannel` and its two ends use them.
struct ChannelRing: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let capacity: UInt64
    let maximumMessageSize: Int
    let tail: UnsafeMutablePointer<Atomic<UInt64>>
    let head: UnsafeMutablePointer<Atomic<UInt64>>
    let dataWord: UnsafeMutablePointer<UInt32>
    let spaceWord: UnsafeMutablePointer<UInt32>
    let senderAsleep: UnsafeMutablePointer<Atomic<UInt32>>
    let receiverAsleep: UnsafeMutablePointer<Atomic<UInt32>>
    let sender: ChannelPeerRecord
    let receiver: ChannelPeerRecord
    let object: String

    /// Resolves every part of `parts` in `placed`: the whole layout is checked to
    /// lie in the mapping, readable and writable; the layout aligned each part.
    init(_ placed: borrowing PlacedMapping, _ parts: ChannelLayout, maximumMessageSize: Int) throws(IPCError) {
        let base = try placed.mapping.address("SharedMemoryChannel", offset: 0, count: parts.layout.size, writing: true)
        func at<T: ~Copyable>(_ place: SharedPlace<T>) -> UnsafeMutableRawPointer { base + place.offset }
        func record(_ places: ChannelPeerPlaces, _ role: String) -> ChannelPeerRecord {
            ChannelPeerRecord(pid: at(places.pid).assumingMemoryBound(to: Atomic<Int32>.self),
                              identified: at(places.identified).assumingMemoryBound(to: Atomic<Int32>.self),
                              startTime: at(places.startTime).assumingMemoryBound(to: Atomic<UInt64>.self),
                              pidNamespace: at(places.pidNamespace).assumingMemoryBound(to: Atomic<UInt64>.self),
                              role: role)
        }
        bytes = at(parts.ring)
        capacity = UInt64(parts.capacity)
        self.maximumMessageSize = maximumMessageSize
        tail = at(parts.tail).assumingMemoryBound(to: Atomic<UInt64>.self)
        head = at(parts.head).assumingMemoryBound(to: Atomic<UInt64>.self)
        dataWord = at(parts.dataWord).assumingMemoryBound(to: UInt32.self)
        spaceWord = at(parts.spaceWord).assumingMemoryBound(to: UInt32.self)
        senderAsleep = at(parts.senderAsleep).assumingMemoryBound(to: Atomic<UInt32>.self)
        receiverAsleep = at(parts.receiverAsleep).assumingMemoryBound(to: Atomic<UInt32>.self)
        sender = record(parts.sender, "sender")
        receiver = record(parts.receiver, "receiver")
        object = placed.mapping.label
    }

    /// The indices as an end finds them when it attaches: both multiples of 8, the
    /// head not past the tail, at most `capacity` apart. Anything else is `EPROTO`.
    func attachedIndices(_ operation: String) throws(IPCError) -> (head: UInt64, tail: UInt64) {
        let head = head.pointee.load(ordering: .acquiring)
        let tail = tail.pointee.load(ordering: .acquiring)
        if head & 7 != 0 || tail & 7 != 0 || head > tail || tail - head > capacity {
            throw IPCError(.protocolError, operation: operation, object: object,
                           detail: "the channel's indices are inconsistent (head \(head), tail \(tail), capacity \(capacity)): damaged by another process")
        }
        return (head, tail)
    }

    /// The header word at ring position `position` (a multiple of 8 below the capacity).
    @inline(__always)
    func loadHeader(at position: UInt64) -> UInt64 {
        (bytes + Int(position)).load(as: UInt64.self)
    }

    @inline(__always)
    func storeHeader(_ header: UInt64, at position: UInt64) {
        (bytes + Int(position)).storeBytes(of: header, as: UInt64.self)
    }

    static func atomic(_ word: UnsafeMutablePointer<UInt32>) -> UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
    }
}
