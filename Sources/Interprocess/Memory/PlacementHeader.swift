import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The 128 bytes at the start of every object a `SharedLayout` places, in the
/// byte order of the host:
///
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 8 | magic `SWIPCPL1` |
/// | 8 | 4 | state word (`PlacementState`), the futex openers sleep on |
/// | 12 | 4 | header format (1) |
/// | 16 | 4 | the layout's version |
/// | 20 | 4 | the initialiser's pid (written after its start time and namespace) |
/// | 24 | 8 | the initialiser's start time (clock ticks after boot, /proc/PID/stat) |
/// | 32 | 8 | the initialiser's PID namespace (inode of /proc/PID/ns/pid) |
/// | 40 | 8 | the layout's size in bytes |
/// | 48 | 8 | the layout's signature (`SharedLayout.signature`) |
/// | 56 | 4 | the type name's length |
/// | 64 | 64 | the type name (UTF-8, zero-padded) |
///
/// Everything is read through the mapping's checked accessors and validated: a
/// hostile peer can make an open fail, never read out of bounds.
enum PlacementHeader {
    static let size = 128
    /// "SWIPCPL1" read as a little-endian integer.
    static let magic: UInt64 = 0x314c_5043_5049_5753
    static let format: UInt32 = 1
    static let nameCapacity = 64

    static let magicOffset = 0
    static let stateOffset = 8
    static let formatOffset = 12
    static let versionOffset = 16
    static let pidOffset = 20
    static let startTimeOffset = 24
    static let namespaceOffset = 32
    static let sizeOffset = 40
    static let signatureOffset = 48
    static let nameLengthOffset = 56
    static let nameOffset = 64
}

extension MemoryMapping {
    /// The state word, as an atomic the caller uses only within this mapping's
    /// lifetime. Checked for range and alignment; a read-only mapping may load it
    /// and sleep on it, never change it.
    func placementStateWord(_ operation: String) throws(IPCError) -> UnsafeMutablePointer<UInt32> {
        try typedAddress(operation, UInt32.self, offset: PlacementHeader.stateOffset, writing: false)
            .assumingMemoryBound(to: UInt32.self)
    }

    func loadPlacementState(_ word: UnsafeMutablePointer<UInt32>, _ operation: String) throws(IPCError) -> UInt32 {
        let value = UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .acquiring)
        try checkAfterAccess(operation)
        return value
    }

    /// The initialiser recorded in the header, when it is the process `pid` the
    /// state word names; nil start time and namespace (0) when the header names
    /// another (the claimant died, or has not yet written its identity).
    func recordedInitialiser(claimedBy pid: Int32, _ operation: String) throws(IPCError) -> ProcessIdentity {
        let recorded = try typedAddress(operation, Int32.self, offset: PlacementHeader.pidOffset, writing: false)
            .assumingMemoryBound(to: Atomic<Int32>.self).pointee.load(ordering: .acquiring)
        var identity = ProcessIdentity(pid: pid, startTime: 0, pidNamespace: 0)
        if recorded == pid {
            identity.startTime = try load(UInt64.self, at: PlacementHeader.startTimeOffset)
            identity.pidNamespace = try load(UInt64.self, at: PlacementHeader.namespaceOffset)
        }
        try checkAfterAccess(operation)
        return identity
    }

    /// Writes the claimant's identity (pid last, released) and the layout's fields.
    func writePlacementHeader(_ layout: SharedLayout, initialiser: ProcessIdentity) throws(IPCError) {
        try store(initialiser.startTime, at: PlacementHeader.startTimeOffset)
        try store(initialiser.pidNamespace, at: PlacementHeader.namespaceOffset)
        try typedAddress("PlacedMapping.create", Int32.self, offset: PlacementHeader.pidOffset, writing: true)
            .assumingMemoryBound(to: Atomic<Int32>.self).pointee.store(initialiser.pid, ordering: .releasing)
        try store(PlacementHeader.magic, at: PlacementHeader.magicOffset)
        try store(PlacementHeader.format, at: PlacementHeader.formatOffset)
        try store(layout.version, at: PlacementHeader.versionOffset)
        try store(UInt64(layout.size), at: PlacementHeader.sizeOffset)
        try store(layout.signature, at: PlacementHeader.signatureOffset)
        let name = Array(layout.type.utf8)
        try store(UInt32(name.count), at: PlacementHeader.nameLengthOffset)
        try write(name + [UInt8](repeating: 0, count: PlacementHeader.nameCapacity - name.count), at: PlacementHeader.nameOffset)
    }

    /// Whether the header's magic is there (a claimant writes it right after
    /// claiming, so a crashed initialiser nearly always left it).
    func hasPlacementMagic() throws(IPCError) -> Bool {
        try load(UInt64.self, at: PlacementHeader.magicOffset) == PlacementHeader.magic
    }

    /// Checks a ready header against `layout`: magic, format, type name, version,
    /// size and signature, each refused with its own errno and the values seen.
    func checkPlacementHeader(_ layout: SharedLayout, _ operation: String) throws(IPCError) {
        let name = try checkPlacementKind(type: layout.type, version: layout.version, operation)
        let size = try load(UInt64.self, at: PlacementHeader.sizeOffset)
        if size != UInt64(layout.size) {
            throw IPCError(.invalidArgument, operation: operation, object: label,
                           detail: "was laid out for \(size) bytes; this layout of \"\(EscapedText.render(name))\" takes \(layout.size)")
        }
        let signature = try load(UInt64.self, at: PlacementHeader.signatureOffset)
        if signature != layout.signature {
            throw IPCError(.invalidArgument, operation: operation, object: label,
                           detail: "was laid out with other parts (signature 0x\(String(signature, radix: 16)), this layout's is 0x\(String(layout.signature, radix: 16)))")
        }
    }

    /// Checks a ready header's magic, format, type name and version — what an
    /// object must pass before the values it records (its geometry) are read. Returns
    /// the type name's bytes.
    @discardableResult
    func checkPlacementKind(type: String, version expected: UInt32, _ operation: String) throws(IPCError) -> [UInt8] {
        func refuse(_ errno: Errno, _ detail: String) -> IPCError {
            IPCError(errno, operation: operation, object: label, detail: detail)
        }
        let magic = try load(UInt64.self, at: PlacementHeader.magicOffset)
        if magic != PlacementHeader.magic {
            throw refuse(.invalidArgument, "no placement header here (magic 0x\(String(magic, radix: 16)), expected 0x\(String(PlacementHeader.magic, radix: 16))): not a placed object, or overwritten")
        }
        let format = try load(UInt32.self, at: PlacementHeader.formatOffset)
        if format != PlacementHeader.format {
            throw refuse(.protocolNotSupported, "the placement header has format \(format); this library reads format \(PlacementHeader.format)")
        }
        let length = Int(try load(UInt32.self, at: PlacementHeader.nameLengthOffset))
        if length < 1 || length > PlacementHeader.nameCapacity {
            throw refuse(.invalidArgument, "the placement header's type name length (\(length)) is outside 1...\(PlacementHeader.nameCapacity): overwritten")
        }
        let name = try read(count: length, from: PlacementHeader.nameOffset)
        if name != Array(type.utf8) {
            throw refuse(.protocolWrongTypeForSocket, "holds a \"\(EscapedText.render(name))\", not a \"\(EscapedText.render(type.utf8))\"")
        }
        let version = try load(UInt32.self, at: PlacementHeader.versionOffset)
        if version != expected {
            throw refuse(.protocolNotSupported, "holds \"\(EscapedText.render(name))\" version \(version); this process expects version \(expected)")
        }
        return name
    }
}
