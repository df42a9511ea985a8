import Interprocess
import Synchronization

/// The layout the test peer's lock commands use (InterprocessTestPeer/LockCommands.swift):
/// a mutex, a condition and two counters kept equal under the mutex.
struct LockTestLayout {
    var layout: SharedLayout
    var mutex: SharedPlace<MappedMutex>
    var condition: SharedPlace<MappedCondition>
    var first: SharedPlace<Atomic<UInt64>>
    var second: SharedPlace<Atomic<UInt64>>

    init(kind: MappedMutex.Kind = .errorChecking) throws(IPCError) {
        layout = try SharedLayout(type: "lock-test", version: 1)
        mutex = try layout.mutex(kind: kind)
        condition = try layout.condition()
        first = try layout.atomic(UInt64.self)
        second = try layout.atomic(UInt64.self)
    }

    /// Creates the objects in a new shared memory object `name`.
    func create(_ name: String) throws -> PlacedMapping {
        try PlacedMapping.create(layout, in: PosixSharedMemory.create(name, size: layout.size).map())
    }

    func load(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws -> UInt64 {
        try placed.withAtomic(place) { $0.load(ordering: .relaxed) }
    }

    func store(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>, _ value: UInt64) throws {
        try placed.withAtomic(place) { $0.store(value, ordering: .relaxed) }
    }
}
