import Interprocess
import Synchronization

/// The layout the test peer's spin lock and barrier commands use
/// (InterprocessTestPeer/SpinBarrierCommands.swift): a spin lock with two counters kept equal under it, and a barrier with the
/// counters its tests check: arrivals in all, rounds passed by the peer,
/// violations seen, and one serial count per round.
struct SpinBarrierTestLayout {
    var layout: SharedLayout
    var spinLock: SharedPlace<MappedSpinLock>
    var barrier: SharedPlace<MappedBarrier>
    var first: SharedPlace<Atomic<UInt64>>
    var second: SharedPlace<Atomic<UInt64>>
    var arrivals: SharedPlace<Atomic<UInt64>>
    var passed: SharedPlace<Atomic<UInt64>>
    var violations: SharedPlace<Atomic<UInt64>>
    var serials: SharedPlace<SharedBytes>
    let participants: Int

    init(participants: Int = 2, rounds: Int = 1) throws(IPCError) {
        layout = try SharedLayout(type: "spin-barrier-test", version: 1)
        spinLock = try layout.spinLock()
        barrier = try layout.barrier(participants: participants)
        first = try layout.atomic(UInt64.self)
        second = try layout.atomic(UInt64.self)
        arrivals = try layout.atomic(UInt64.self)
        passed = try layout.atomic(UInt64.self)
        violations = try layout.atomic(UInt64.self)
        serials = try layout.bytes(count: 4 * rounds, alignment: 4)
        self.participants = participants
    }

    /// Creates the objects in a new shared memory object `name`.
    func create(_ name: String) throws -> PlacedMapping {
        try PlacedMapping.create(layout, in: PosixSharedMemory.create(name, size: layout.size).map())
    }

    /// Maps the objects of `name` again (as a peer does).
    func open(_ name: String) throws -> PlacedMapping {
        try PlacedMapping.open(layout, in: PosixSharedMemory.open(name).map(), until: .after(.seconds(30)))
    }

    /// The serial count of round `round`.
    func serialCount(_ placed: borrowing PlacedMapping, round: Int) throws -> UInt32 {
        try placed.mapping.withAtomic(UInt32.self, at: serials.offset + 4 * round) { $0.load(ordering: .relaxed) }
    }

    func load(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws -> UInt64 {
        try placed.withAtomic(place) { $0.load(ordering: .relaxed) }
    }

    func store(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>, _ value: UInt64) throws {
        try placed.withAtomic(place) { $0.store(value, ordering: .relaxed) }
    }

    func add(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws {
        try placed.withAtomic(place) { _ = $0.add(1, ordering: .relaxed) }
    }

    /// Round `round` of the serial test: count the arrival, wait, count the serial
    /// one in the round's slot, and count a violation when not every arrival of
    /// this round happened before the wait returned.
    func round(_ round: Int, _ placed: borrowing PlacedMapping, _ barrier: borrowing MappedBarrier,
               _ me: borrowing MappedBarrier.Participant) throws {
        try add(placed, arrivals)
        if try barrier.wait(as: me, timeout: .seconds(30)).isSerial {
            try placed.mapping.withAtomic(UInt32.self, at: serials.offset + 4 * round) { _ = $0.add(1, ordering: .relaxed) }
        }
        if try load(placed, arrivals) < UInt64((round + 1) * participants) { try add(placed, violations) }
    }
}
