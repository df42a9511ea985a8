// The small value types of the read–write lock (SPEC Y6): what it was made
// with, how one of its internal mutexes is waited for, and what an acquisition
// came to.

/// The configuration a lock was made with: kept in its layout part and in its
/// memory, which must agree.
struct ReadWriteLockConfiguration: Equatable, Sendable {
    var preference: MappedReadWriteLock.Preference
    var slots: Int

    static let slotRange = 1...1024
    private static let tag: UInt32 = 0x52 << 24

    /// Tag, preference, slot count: one word.
    var word: UInt32 { Self.tag | UInt32(preference.rawValue) << 16 | UInt32(slots) }

    init(preference: MappedReadWriteLock.Preference, slots: Int) {
        self.preference = preference
        self.slots = slots
    }

    init?(word: UInt64) {
        guard word >> 24 == UInt64(Self.tag >> 24),
              let preference = MappedReadWriteLock.Preference(rawValue: UInt8(truncatingIfNeeded: word >> 16)),
              Self.slotRange.contains(Int(word & 0xffff)) else { return nil }
        self.init(preference: preference, slots: Int(word & 0xffff))
    }
}

/// How an internal mutex is waited for.
struct ReadWriteLockWait: Sendable {
    /// nil: not at all (a try).
    var deadline: Deadline?
    /// Whether a signal ends the wait (for the waiting engine).
    var interruptible = false

    static let attempt = ReadWriteLockWait(deadline: nil)
    static func until(_ deadline: Deadline) -> ReadWriteLockWait { ReadWriteLockWait(deadline: deadline) }
}

/// The outcome of an acquisition. Every outcome but `done` leaves nothing held.
enum ReadWriteLockStep<Value> {
    case done(Value)
    /// A try found the lock held.
    case busy
    /// An interruptible wait was interrupted.
    case interrupted
    case failed(IPCError)
}
