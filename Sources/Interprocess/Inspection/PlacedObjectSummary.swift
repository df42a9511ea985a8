/// What the placement header at the start of a POSIX shared memory object says
/// (SPEC L2, H5): the `SharedLayout` type and version placed in it, and whether
/// its initialisation finished. How the host sees the mutexes, conditions and
/// other objects a program placed there (`ipc ls --output name,placed`); the
/// objects themselves are inside the memory, not kernel objects.
public struct PlacedObjectSummary: Hashable, Sendable {
    /// The layout's type name, as written (1 to 64 bytes; `EscapedText.render`
    /// shows it).
    public var type: [UInt8]
    public var version: UInt32
    public var state: State

    public enum State: Hashable, Sendable {
        /// Every part initialised: openers may use it.
        case ready
        /// Being initialised by the process `pid` — or abandoned by it, if it died
        /// (the next opener or creator finds out and refuses or takes over).
        case initialising(pid: Int32)
    }

    /// The summary read from the header's first `PlacementHeader.size` bytes,
    /// nil when they are no placement header of this library's format (any
    /// other content: the memory is not placed, or was overwritten).
    init?(header bytes: [UInt8]) {
        guard bytes.count >= PlacementHeader.size else { return nil }
        func load<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        }
        guard load(UInt64.self, PlacementHeader.magicOffset) == PlacementHeader.magic,
              load(UInt32.self, PlacementHeader.formatOffset) == PlacementHeader.format else { return nil }
        let length = Int(load(UInt32.self, PlacementHeader.nameLengthOffset))
        guard (1...PlacementHeader.nameCapacity).contains(length) else { return nil }
        switch PlacementState(word: load(UInt32.self, PlacementHeader.stateOffset)) {
        case .ready: state = .ready
        case .initialising(let pid): state = .initialising(pid: pid)
        case .empty, .invalid: return nil
        }
        type = Array(bytes[PlacementHeader.nameOffset..<(PlacementHeader.nameOffset + length)])
        version = load(UInt32.self, PlacementHeader.versionOffset)
    }
}
