import Synchronization

// Reaching the parts of a placed mapping through the places its layout handed out.
// Each call checks that the place is one of this layout's, then goes through the
// mapping's checked accessors (range, alignment, protection, the SIGBUS guard).

extension PlacedMapping {
    /// Calls `body` with the atomic at `place`; it cannot outlive the call.
    /// Throws `EINVAL` for a place of another layout, and like
    /// `MemoryMapping.withAtomic`.
    public func withAtomic<V: AtomicRepresentable & FixedWidthInteger, R>(
        _ place: SharedPlace<Atomic<V>>, _ body: (borrowing Atomic<V>) throws -> R
    ) throws -> R {
        try layout.check(place, .atomic, operation: "withAtomic")
        return try mapping.withAtomic(V.self, at: place.offset, body)
    }

    /// Calls `body` with the bytes of `place` as a `RawSpan`.
    public func withBytes<R>(_ place: SharedPlace<SharedBytes>, _ body: (RawSpan) throws -> R) throws -> R {
        try layout.check(place, .bytes, operation: "withBytes")
        return try mapping.withBytes(in: place.range, body)
    }

    /// Calls `body` with the bytes of `place` as a `MutableRawSpan`.
    public func withMutableBytes<R>(_ place: SharedPlace<SharedBytes>, _ body: (inout MutableRawSpan) throws -> R) throws -> R {
        try layout.check(place, .bytes, operation: "withMutableBytes")
        return try mapping.withMutableBytes(in: place.range, body)
    }

    /// Copies `buffer.count` bytes from `offset` within `place` into `buffer`;
    /// `ERANGE` when they are not all inside the place.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer, from place: SharedPlace<SharedBytes>, at offset: Int = 0) throws(IPCError) {
        try layout.check(place, .bytes, operation: "read")
        try Self.checkInside(place, offset, buffer.count, "read", mapping.label)
        try mapping.read(into: buffer, from: place.offset + offset)
    }

    /// Copies `bytes` into `place` at `offset` within it; `ERANGE` when they do not
    /// all fit inside the place.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer, to place: SharedPlace<SharedBytes>, at offset: Int = 0) throws(IPCError) {
        try layout.check(place, .bytes, operation: "write")
        try Self.checkInside(place, offset, bytes.count, "write", mapping.label)
        try mapping.write(bytes, at: place.offset + offset)
    }

    @inline(__always)
    static func checkInside(_ place: SharedPlace<SharedBytes>, _ offset: Int, _ count: Int, _ operation: String, _ label: String) throws(IPCError) {
        if offset < 0 || count < 0 || offset > place.size - count {
            throw IPCError(.outOfRange, operation: operation, object: label,
                           detail: "bytes \(offset)..<\(offset &+ count) are outside the place's \(place.size) bytes")
        }
    }
}

extension PlacedMapping {
    /// Copies `count` bytes from `offset` within `place`.
    public func read(count: Int, from place: SharedPlace<SharedBytes>, at offset: Int = 0) throws(IPCError) -> [UInt8] {
        try layout.check(place, .bytes, operation: "read")
        try Self.checkInside(place, offset, count, "read", mapping.label)
        return try mapping.read(count: count, from: place.offset + offset)
    }

    /// Copies `bytes` into `place` at `offset` within it.
    public func write(_ bytes: [UInt8], to place: SharedPlace<SharedBytes>, at offset: Int = 0) throws(IPCError) {
        try layout.check(place, .bytes, operation: "write")
        try Self.checkInside(place, offset, bytes.count, "write", mapping.label)
        try mapping.write(bytes, at: place.offset + offset)
    }
}
