import Synchronization

/// Which side of a `fork` this process is (SPEC R2, L3): a number bumped in the
/// child of every fork, so a door session — whose channel ends belong to the
/// process that opened it — can refuse calls from a forked child with one load
/// instead of a `getpid` system call per call.
enum DoorForkGeneration {
    private static let generation = Atomic<UInt64>(0)

    private static let registered: Bool = {
        LibraryThread.afterForkInChild { DoorForkGeneration.generation.wrappingAdd(1, ordering: .relaxed) }
        return true
    }()

    /// The generation now; registers the fork handler on first use.
    static var current: UInt64 {
        _ = registered
        return generation.load(ordering: .relaxed)
    }
}
