import Synchronization

// Opening placed objects: wait for "ready" on the header's state word, notice a
// dead initialiser, then check the header against the layout.

extension PlacedMapping {
    /// How long an opener sleeps on the state word before it checks again that the
    /// initialiser is alive (a dead process wakes nobody).
    static let livenessInterval: Duration = .milliseconds(100)

    /// Opens the objects `layout` describes in `mapping`, waiting until `deadline`
    /// for the process that initialises them to mark them ready. The wait sleeps on
    /// the header's state word (`futex(FUTEX_WAIT)`), waking at least every 100 ms
    /// to check that the initialiser is still alive.
    ///
    /// Throws, without touching any object:
    /// - `ETIMEDOUT` when the deadline passed while nobody had begun (the state is
    ///   still empty) or the initialiser was still at work (its pid in the detail);
    /// - `EOWNERDEAD` when the initialiser died before it finished (its pid in the
    ///   detail): `create` takes such an object over;
    /// - `EPROTOTYPE` for another type name, `EPROTONOSUPPORT` for another version
    ///   (or header format), `EINVAL` for another size or shape of layout, or a
    ///   header that is not a placement header (junk);
    /// - `ERANGE` for a mapping smaller than `layout.size`, `EACCES` for one that
    ///   cannot be read; `EFAULT` when the object was shrunk under the mapping.
    ///
    /// A read-only mapping may be opened: its bytes, not its semaphores or
    /// atomics, can then be used.
    public static func open(
        _ layout: SharedLayout, in mapping: consuming MemoryMapping, until deadline: Deadline
    ) throws(IPCError) -> PlacedMapping {
        let operation = "PlacedMapping.open"
        try checkFits(layout, mapping, writing: false, operation)
        try waitUntilReady(mapping, type: layout.type, until: deadline)
        try mapping.checkPlacementHeader(layout, operation)
        let initialiser = try mapping.load(Int32.self, at: PlacementHeader.pidOffset)
        return PlacedMapping(mapping: mapping, layout: layout, initialiser: initialiser)
    }

    /// Waits until `deadline` for the process that initialises the placed object in
    /// `mapping` to mark it ready, as `open` does — without checking the header
    /// against a layout. An object whose layout depends on values it records (a
    /// channel's geometry) reads them after this, builds its layout, then calls
    /// `open`, which checks everything. `type` names the object in errors.
    static func waitUntilReady(_ mapping: borrowing MemoryMapping, type: String, until deadline: Deadline) throws(IPCError) {
        let operation = "PlacedMapping.open"
        let word = try mapping.placementStateWord(operation)
        while true {
            let observed = try mapping.loadPlacementState(word, operation)
            switch PlacementState(word: observed) {
            case .ready:
                return
            case .empty:
                if deadline.hasPassed {
                    throw IPCError(.timedOut, operation: operation, object: mapping.label,
                                   detail: "nobody began initialising \"\(type)\" before the deadline")
                }
            case .initialising(let pid):
                let initialiser = try mapping.recordedInitialiser(claimedBy: pid, operation)
                let liveness = initialiser.liveness
                if liveness == .gone {
                    throw IPCError(.previousOwnerDied, operation: operation, object: mapping.label,
                                   detail: "pid \(pid) died while initialising \"\(type)\"; create it again (create takes it over) or remove it")
                }
                if deadline.hasPassed {
                    var detail = "pid \(pid) was still initialising \"\(type)\" at the deadline"
                    if case .unknown(let why) = liveness { detail += " (whether it is alive cannot be told: \(why))" }
                    throw IPCError(.timedOut, operation: operation, object: mapping.label, detail: detail)
                }
            case .invalid(let value):
                throw invalidState(value, mapping, operation)
            }
            let slice = Deadline.after(livenessInterval)
            do { try Futex.wait(word, expecting: observed, until: min(slice, deadline)) } catch where error.isTimeout {}
        }
    }

    /// `open(…until:)` with a deadline `timeout` from now.
    public static func open(_ layout: SharedLayout, in mapping: consuming MemoryMapping, timeout: Duration) throws(IPCError) -> PlacedMapping {
        try open(layout, in: mapping, until: .after(timeout))
    }
}
