import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The plan of a shared memory object: a placement header, then every object and
/// byte region in it, each at an offset the layout computes from the sizes and
/// alignments (SPEC H5, Y2).
///
/// Every process that uses the object builds the same layout (the same calls in
/// the same order); one creates the object with `PlacedMapping.create`, which
/// initialises every part exactly once, the others open it with
/// `PlacedMapping.open`, which checks the header: the type name, the version, the
/// size and the shape of the layout (a signature of its parts' kinds, offsets and
/// sizes) must all match.
///
/// ```swift
/// var layout = try SharedLayout(type: "orders.ring", version: 1)
/// let items = try layout.semaphore(value: 0)
/// let head = try layout.atomic(UInt64.self)
/// let slots = try layout.bytes(count: 64 * 1024, alignment: 64)
/// let memory = try PosixSharedMemory.create("/orders", size: layout.size)
/// let placed = try PlacedMapping.create(layout, in: memory.map())
/// ```
public struct SharedLayout: Sendable, Equatable {
    /// The type name written into the header (1 to 64 bytes of UTF-8).
    public let type: String
    /// The version of the type, written into the header; an opener expecting
    /// another version is refused.
    public let version: UInt32
    /// The parts, in the order they were added.
    private(set) var parts: [SharedLayoutPart] = []
    /// The bytes the mapping needs: the header and every part.
    public private(set) var size: Int = PlacementHeader.size

    /// The largest alignment a part may ask for: a mapping starts on a page.
    public static var maximumAlignment: Int { MemoryMapping.pageSize }

    /// Starts a layout whose header names `type` at `version`. The name is at most
    /// 64 bytes of UTF-8 and not empty (`EINVAL`).
    public init(type: String, version: UInt32) throws(IPCError) {
        let bytes = type.utf8.count
        if bytes == 0 || bytes > PlacementHeader.nameCapacity {
            throw IPCError(.invalidArgument, operation: "SharedLayout", object: "\"\(type)\"",
                           detail: "a type name takes 1 to \(PlacementHeader.nameCapacity) bytes of UTF-8 (this one takes \(bytes))")
        }
        self.type = type
        self.version = version
    }

    /// Places a process-shared semaphore that starts at `value` (at most
    /// `SEM_VALUE_MAX`, else `EINVAL`). `PlacedMapping.create` initialises it with
    /// `sem_init` (pshared 1); nobody else can.
    public mutating func semaphore(value: Int = 0) throws(IPCError) -> SharedPlace<MappedSemaphore> {
        try SemaphoreOperations.checkValue(value, operation: "SharedLayout.semaphore", object: "\"\(type)\"")
        return try add(.semaphore, size: MemoryLayout<sem_t>.size, alignment: MemoryLayout<sem_t>.alignment,
                       initialValue: UInt64(value))
    }

    /// Places a robust process-shared mutex of `kind` (SPEC Y4, Y5).
    /// `PlacedMapping.create` initialises it with `pthread_mutex_init`
    /// (`PTHREAD_MUTEX_ROBUST`, `PTHREAD_PROCESS_SHARED`); use it with
    /// `PlacedMapping.withMutex(_:)`.
    public mutating func mutex(kind: MappedMutex.Kind = .errorChecking) throws(IPCError) -> SharedPlace<MappedMutex> {
        try add(.mutex, size: MutexOperations.size, alignment: MutexOperations.alignment, initialValue: UInt64(kind.rawValue))
    }

    /// Places a condition variable (SPEC Y4) built on a futex; use it with
    /// `PlacedMapping.withCondition(_:)` and a mutex of the same mapping.
    public mutating func condition() throws(IPCError) -> SharedPlace<MappedCondition> {
        try add(.condition, size: MappedCondition.size, alignment: MappedCondition.alignment, initialValue: 0)
    }

    /// Places an atomic integer that starts at `initialValue`.
    public mutating func atomic<V: AtomicRepresentable & FixedWidthInteger>(
        _ type: V.Type, initialValue: V = 0
    ) throws(IPCError) -> SharedPlace<Atomic<V>> {
        try add(.atomic, size: MemoryLayout<Atomic<V>>.size, alignment: MemoryLayout<Atomic<V>>.alignment,
                initialValue: UInt64(truncatingIfNeeded: initialValue))
    }

    /// Places `count` bytes of plain data at a multiple of `alignment` (a power of
    /// two up to `maximumAlignment`). Creating the object does not clear them: a
    /// new object reads as zeros; fill them in `create`'s `initialising` closure.
    public mutating func bytes(count: Int, alignment: Int = 16) throws(IPCError) -> SharedPlace<SharedBytes> {
        if count <= 0 {
            throw IPCError(.invalidArgument, operation: "SharedLayout.bytes", object: "\"\(type)\"",
                           detail: "a byte region needs at least one byte (asked for \(count))")
        }
        return try add(.bytes, size: count, alignment: alignment, initialValue: 0)
    }

    mutating func add<Object: ~Copyable>(
        _ kind: SharedLayoutPart.Kind, size: Int, alignment: Int, initialValue: UInt64
    ) throws(IPCError) -> SharedPlace<Object> {
        if alignment <= 0 || alignment & (alignment - 1) != 0 || alignment > Self.maximumAlignment {
            throw IPCError(.invalidArgument, operation: "SharedLayout", object: "\"\(type)\"",
                           detail: "an alignment is a power of two up to the page size (\(Self.maximumAlignment)), not \(alignment)")
        }
        let offset = (self.size + alignment - 1) & ~(alignment - 1)
        let (end, overflow) = offset.addingReportingOverflow(size)
        if overflow || end > Int(Int32.max) * 1024 {
            throw IPCError(.outOfRange, operation: "SharedLayout", object: "\"\(type)\"",
                           detail: "the layout would take more than \(Int(Int32.max) * 1024) bytes")
        }
        parts.append(SharedLayoutPart(kind: kind, offset: offset, size: size, alignment: alignment, initialValue: initialValue))
        self.size = end
        return SharedPlace(offset: offset, size: size, index: parts.count - 1)
    }

    /// A digest of the parts' kinds, offsets, sizes and alignments (64-bit
    /// FNV-1a), written into the header so an opener with another shape of layout
    /// under the same name and version is refused.
    var signature: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                hash ^= (value >> UInt64(shift)) & 0xff
                hash = hash &* 0x0000_0100_0000_01b3
            }
        }
        mix(UInt64(size))
        for part in parts {
            mix(UInt64(part.kind.rawValue))
            mix(UInt64(part.offset))
            mix(UInt64(part.size))
            mix(UInt64(part.alignment))
        }
        return hash
    }

    /// Throws `EINVAL` unless `place` is one this layout handed out.
    func check<Object: ~Copyable>(_ place: SharedPlace<Object>, _ kind: SharedLayoutPart.Kind, operation: String) throws(IPCError) {
        guard place.index >= 0, place.index < parts.count,
              parts[place.index].kind == kind, parts[place.index].offset == place.offset,
              parts[place.index].size == place.size else {
            throw IPCError(.invalidArgument, operation: operation, object: "\"\(type)\"",
                           detail: "the place (offset \(place.offset), \(place.size) bytes) is not one of this layout's")
        }
    }
}
