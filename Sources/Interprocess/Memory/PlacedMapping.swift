import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A mapping that holds the objects of a `SharedLayout` behind a checked placement
/// header (SPEC H5, Y2): made by the one process that initialises them
/// (`create`), or by a process that found them ready (`open`).
///
/// Exactly one process initialises: `create` claims the object by a
/// compare-and-swap of the header's state word from "empty" to "initialising by
/// my pid"; every other `create` fails with `EEXIST`. Openers sleep on the state
/// word (a futex) until it says "ready", then check the type name, version, size
/// and shape of the layout. An initialiser that dies half-way is noticed by pid and
/// start time: `open` fails with `EOWNERDEAD` naming it, and a later `create` takes
/// the object over (nobody can have used it: it never became ready). No call
/// initialises a ready object again, so nothing resets a semaphore under its
/// waiters. The protocol is described in Memory/README.md.
///
/// The objects are reached through the places the layout handed out:
/// `withSemaphore(_:)`, `withAtomic(_:)`, `withBytes(_:)`, `withMutableBytes(_:)`,
/// `read(into:from:at:)`, `write(_:to:at:)`.
public struct PlacedMapping: ~Copyable, @unchecked Sendable {
    /// The mapping; the header and every part lie inside it.
    public let mapping: MemoryMapping
    /// The layout the header was checked against.
    public let layout: SharedLayout
    /// The process that initialised the objects (from the header).
    public let initialiser: Int32

    init(mapping: consuming MemoryMapping, layout: SharedLayout, initialiser: Int32) {
        self.mapping = mapping
        self.layout = layout
        self.initialiser = initialiser
    }

    /// Initialises every part of `layout` in `mapping` (semaphores with `sem_init`,
    /// atomics with their initial values), writes the header and marks it ready,
    /// waking every process waiting in `open`.
    ///
    /// Throws `EEXIST` when the object is ready or another live process is
    /// initialising it; `EOWNERDEAD` when a dead initialiser left it in a state
    /// that cannot be taken over safely; `EINVAL` for a header that is not a
    /// placement header; `ERANGE` for a mapping smaller than `layout.size`;
    /// `EACCES` for a mapping that is not readable and writable.
    public static func create(_ layout: SharedLayout, in mapping: consuming MemoryMapping) throws(IPCError) -> PlacedMapping {
        do {
            return try create(layout, in: mapping, initialising: { _ in })
        } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.invalidArgument, operation: "PlacedMapping.create", detail: "\(error)")  // not reached: the body throws nothing
        }
    }

    /// Like `create(_:in:)`, then calls `body` before marking the object ready, to
    /// fill in plain data (a ring's geometry, a table) that openers may then rely
    /// on. When `body` throws, the object goes back to empty (another process may
    /// create it) and the error is rethrown.
    public static func create(
        _ layout: SharedLayout, in mapping: consuming MemoryMapping,
        initialising body: (borrowing PlacedMapping) throws -> Void
    ) throws -> PlacedMapping {
        let operation = "PlacedMapping.create"
        try checkFits(layout, mapping, writing: true, operation)
        let me = ProcessIdentity.current
        guard let claim = PlacementState.initialisingWord(pid: me.pid) else {
            throw IPCError(.invalidArgument, operation: operation, object: mapping.label,
                           detail: "this process's pid (\(me.pid)) does not fit the state word")
        }
        let word = try mapping.placementStateWord(operation)
        let state = UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
        try claimPlacement(state, claim, mapping, operation)

        let placed = PlacedMapping(mapping: mapping, layout: layout, initialiser: me.pid)
        do {
            try placed.mapping.writePlacementHeader(layout, initialiser: me)
            try placed.initialiseParts()
            try body(placed)
        } catch {
            try? placed.publish(0, operation)
            throw error
        }
        try placed.publish(PlacementState.readyWord, operation)
        return placed
    }

    /// Stores `state` (release) in the header and wakes every process sleeping on
    /// it. The corresponding C call is `futex(FUTEX_WAKE)`.
    private func publish(_ state: UInt32, _ operation: String) throws(IPCError) {
        let word = try mapping.placementStateWord(operation)
        UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(state, ordering: .releasing)
        try mapping.checkAfterAccess(operation)
        _ = try Futex.wake(word, count: .max)
    }

    /// Moves the state word from empty (or from a dead initialiser's claim) to
    /// `claim`, or throws why this process may not initialise.
    private static func claimPlacement(
        _ state: UnsafeMutablePointer<Atomic<UInt32>>, _ claim: UInt32, _ mapping: borrowing MemoryMapping, _ operation: String
    ) throws(IPCError) {
        while true {
            let observed = state.pointee.load(ordering: .acquiring)
            try mapping.checkAfterAccess(operation)
            switch PlacementState(word: observed) {
            case .empty:
                if state.pointee.compareExchange(expected: 0, desired: claim, ordering: .acquiringAndReleasing).exchanged { return }
            case .ready:
                let by = (try? mapping.load(Int32.self, at: PlacementHeader.pidOffset)).map { " by pid \($0)" } ?? ""
                throw IPCError(.fileExists, operation: operation, object: mapping.label,
                               detail: "the objects are already initialised\(by); open them instead")
            case .initialising(let pid):
                let initialiser = try mapping.recordedInitialiser(claimedBy: pid, operation)
                switch initialiser.liveness {
                case .running, .unknown:
                    throw IPCError(.fileExists, operation: operation, object: mapping.label,
                                   detail: "pid \(pid) is initialising the objects; open them instead")
                case .gone:
                    // Takeover is safe only where the dead claimant wrote its identity
                    // and magic: then it was a real initialiser, and nobody has used
                    // the objects (they never became ready).
                    guard initialiser.startTime != 0, try mapping.hasPlacementMagic() else {
                        throw IPCError(.previousOwnerDied, operation: operation, object: mapping.label,
                                       detail: "pid \(pid) claimed the objects and is gone before it identified itself; remove the object and make it again")
                    }
                    if state.pointee.compareExchange(expected: observed, desired: claim, ordering: .acquiringAndReleasing).exchanged { return }
                }
            case .invalid(let word):
                throw Self.invalidState(word, mapping, operation)
            }
        }
    }

    static func invalidState(_ word: UInt32, _ mapping: borrowing MemoryMapping, _ operation: String) -> IPCError {
        IPCError(.invalidArgument, operation: operation, object: mapping.label,
                 detail: "the placement state word is 0x\(String(word, radix: 16)), not a state: not a placed object, or overwritten")
    }

    static func checkFits(_ layout: SharedLayout, _ mapping: borrowing MemoryMapping, writing: Bool, _ operation: String) throws(IPCError) {
        if mapping.length < layout.size {
            throw IPCError(.outOfRange, operation: operation, object: mapping.label,
                           detail: "the mapping has \(mapping.length) bytes; the layout of \"\(layout.type)\" takes \(layout.size)")
        }
        let needed: MemoryMapping.Protection = writing ? .readWrite : .read
        if !mapping.protection.contains(needed) {
            throw IPCError(.permissionDenied, operation: operation, object: mapping.label,
                           detail: writing ? "creating placed objects needs a readable and writable mapping" : "the mapping is not readable")
        }
    }

    /// Initialises every semaphore, mutex, condition and atomic of the layout; byte regions keep
    /// their bytes.
    private func initialiseParts() throws(IPCError) {
        for part in layout.parts {
            switch part.kind {
            case .bytes:
                break
            case .semaphore:
                let semaphore = try mapping.typedAddress("sem_init", sem_t.self, offset: part.offset, writing: true)
                    .assumingMemoryBound(to: sem_t.self)
                if system_sem_init(semaphore, 1, CUnsignedInt(part.initialValue)) != 0 {
                    throw IPCError.last("sem_init", object: mapping.label)
                }
            case .mutex:
                let start = try mapping.typedAddress("pthread_mutex_init", pthread_mutex_t.self, offset: part.offset, writing: true)
                try MutexOperations.initialise(start, kind: MappedMutex.Kind(rawValue: UInt8(part.initialValue))!, object: mapping.label)
            case .readWriteLock:
                let start = try mapping.address("pthread_rwlock_init", offset: part.offset, count: part.size, writing: true)
                try ReadWriteLockOperations.initialise(start, ReadWriteLockConfiguration(word: part.initialValue)!, object: mapping.label)
            case .condition:
                try mapping.write([UInt8](repeating: 0, count: part.size), at: part.offset)
            case .spinLock:
                try mapping.store(UInt64(0), at: part.offset)
            case .barrier:
                try MappedBarrier.initialise(mapping, part)
            case .atomic:
                switch part.size {
                case 1: try mapping.store(UInt8(truncatingIfNeeded: part.initialValue), at: part.offset)
                case 2: try mapping.store(UInt16(truncatingIfNeeded: part.initialValue), at: part.offset)
                case 4: try mapping.store(UInt32(truncatingIfNeeded: part.initialValue), at: part.offset)
                case 8: try mapping.store(part.initialValue, at: part.offset)
                default:
                    // Wider atomics (UInt128…) start at their value's low 64 bits, zero-extended.
                    try mapping.write([UInt8](repeating: 0, count: part.size), at: part.offset)
                    try mapping.store(part.initialValue, at: part.offset)
                }
            }
        }
        try mapping.checkAfterAccess("PlacedMapping.create")
    }
}
