import Interprocess

/// One of the four counts of a `SharedMemoryRing` pair: per ring, the slots
/// filled (`items`) and the slots free (`spaces`).
struct RingCount {
    enum Kind { case items, spaces }

    /// The ring, 0 (the parent sends on it) or 1 (the child does).
    var ring: Int
    var kind: Kind

    init(ring: Int, of kind: Kind) {
        self.ring = ring
        self.kind = kind
    }

    /// 0 to 3: ring 0's items and spaces, then ring 1's.
    var index: Int { 2 * ring + (kind == .items ? 0 : 1) }
}

/// How the two sides of a `SharedMemoryRing` wait for a count to be above zero
/// and tell each other it grew: counting semaphores, one per `RingCount`.
///
/// Each call gets the ring's segment, for signals that live in it (process-shared
/// POSIX semaphores); others ignore it. An async form (for `shm-posix-sem-async`)
/// adds `take(_:until:in:) async` beside these, over the same counts.
protocol RingSignals: ~Copyable {
    /// Takes one unit of `count` if it is above zero; false when it is zero.
    func tryTake(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool
    /// Takes one unit of `count`, waiting at most until `deadline`; false when the
    /// deadline passed first.
    func take(_ count: RingCount, until deadline: Deadline, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool
    /// Adds one unit to `count`, waking a side waiting on it.
    func give(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError)
}
