/// Where a `SharedLayout` put one object: its offset and size in the mapping, and
/// what it holds (`Object`: `MappedSemaphore`, `Atomic<UInt64>`, `SharedBytes`).
///
/// A place is handed out by the layout and used with the `PlacedMapping` made from
/// that layout (`withSemaphore(_:)`, `withAtomic(_:)`, `withBytes(_:)`…), which
/// checks that the place is one of its own before touching memory. Nobody computes
/// an offset by hand.
public struct SharedPlace<Object: ~Copyable>: Sendable, Equatable {
    /// The offset from the start of the mapping (aligned for the object).
    public let offset: Int
    /// The bytes the object takes.
    public let size: Int
    /// Its position among the layout's parts.
    let index: Int

    /// The bytes of the place in the mapping.
    public var range: Range<Int> { offset..<(offset + size) }
}

/// The object of a place that holds plain bytes (`SharedLayout.bytes(count:alignment:)`),
/// reached as spans or copies.
public enum SharedBytes {}

/// One part of a layout: what it holds, where, and how it starts out.
struct SharedLayoutPart: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        case bytes = 1
        case semaphore = 2
        case atomic = 3
        case mutex = 4
        case condition = 5
        case readWriteLock = 6
        case spinLock = 7
        case barrier = 8
    }

    var kind: Kind
    var offset: Int
    var size: Int
    var alignment: Int
    /// A semaphore's initial value, an atomic's initial bit pattern, a mutex's
    /// `MappedMutex.Kind`, a read–write lock's `ReadWriteLockConfiguration.word`,
    /// a barrier's participant count; 0 for bytes, conditions and spin locks.
    var initialValue: UInt64
}
