@testable import Interprocess
import Synchronization

/// The layout the test peer's read–write lock commands use
/// (InterprocessTestPeer/ReadWriteLockCommands.swift): a lock with 4 reader slots
/// and two counters kept equal under it.
struct ReadWriteLockTestLayout {
    var layout: SharedLayout
    var lock: SharedPlace<MappedReadWriteLock>
    var first: SharedPlace<Atomic<UInt64>>
    var second: SharedPlace<Atomic<UInt64>>
    /// The peers' PREF argument.
    var preference: String

    init(preferring preference: MappedReadWriteLock.Preference = .writers) throws(IPCError) {
        layout = try SharedLayout(type: "rwlock-test", version: 1)
        lock = try layout.readWriteLock(preferring: preference, maximumReaders: 4)
        first = try layout.atomic(UInt64.self)
        second = try layout.atomic(UInt64.self)
        self.preference = preference.description
    }

    /// Creates the objects in a new shared memory object `name`.
    func create(_ name: String) throws -> PlacedMapping {
        try PlacedMapping.create(layout, in: PosixSharedMemory.create(name, size: layout.size).map())
    }

    /// Creates the objects in anonymous shared memory, for the threads of this process.
    func createAnonymous() throws -> PlacedMapping {
        try PlacedMapping.create(layout, in: PosixSharedMemory.anonymous(size: layout.size).map())
    }

    /// A peer session running `command NAME PREF arguments…`.
    func peer(_ command: String, _ name: String, _ arguments: String...) throws -> PeerSession {
        try PeerSession(command, [name, preference] + arguments)
    }

    /// The line a peer `command NAME PREF arguments…` prints, once it has exited
    /// (every wait bounded: the peer's own, and 30 s here).
    func run(_ command: String, _ name: String, _ arguments: String...) throws -> String {
        let session = try PeerSession(command, [name, preference] + arguments)
        let line = try session.line()
        _ = try session.finish()
        return line
    }

    func load(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws -> UInt64 {
        try placed.withAtomic(place) { $0.load(ordering: .relaxed) }
    }

    func store(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>, _ value: UInt64) throws {
        try placed.withAtomic(place) { $0.store(value, ordering: .relaxed) }
    }
}
