#if canImport(Glibc)
import Glibc
#endif

// Reaching the mapped bytes (SPEC H5): spans that cannot outlive the call, copies,
// and typed values. Every access is checked before memory is touched, and checked
// again afterwards for a fault caught by the guard (another process shrank the
// object under it).

extension MemoryMapping {
    /// Calls `body` with the bytes of `range` (all of the mapping when nil) as a
    /// `RawSpan`, which the compiler keeps from escaping the call.
    ///
    /// Throws `ERANGE` for a range outside the mapping, `EINVAL` for an empty one,
    /// `EACCES` when the mapping is not readable, and `EFAULT` when the object was
    /// shrunk under the access (the span then showed zeros past the new end).
    /// The bytes may change under the span while another process writes them.
    public func withBytes<R>(in range: Range<Int>? = nil, _ body: (RawSpan) throws -> R) throws -> R {
        let range = range ?? 0..<length
        let start = try address("withBytes", offset: range.lowerBound, count: range.count, writing: false)
        let span = unsafe RawSpan(_unsafeBytes: UnsafeRawBufferPointer(start: start, count: range.count))
        let result: R
        do { result = try body(span) } catch {
            try checkAfterAccess("withBytes")
            throw error
        }
        try checkAfterAccess("withBytes")
        return result
    }

    /// Calls `body` with the bytes of `range` (all of the mapping when nil) as a
    /// `MutableRawSpan`, which the compiler keeps from escaping the call.
    ///
    /// Throws like `withBytes`, and `EACCES` when the mapping is not writable. When
    /// the object was shrunk under the access, writes past its new end were lost
    /// and the call throws `EFAULT`.
    public func withMutableBytes<R>(in range: Range<Int>? = nil, _ body: (inout MutableRawSpan) throws -> R) throws -> R {
        let range = range ?? 0..<length
        let start = try address("withMutableBytes", offset: range.lowerBound, count: range.count, writing: true)
        var span = unsafe MutableRawSpan(_unsafeBytes: UnsafeMutableRawBufferPointer(start: start, count: range.count))
        let result: R
        do { result = try body(&span) } catch {
            try checkAfterAccess("withMutableBytes")
            throw error
        }
        try checkAfterAccess("withMutableBytes")
        return result
    }

    /// Copies `buffer.count` bytes from `offset` into `buffer`.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer, from offset: Int) throws(IPCError) {
        let start = try address("read", offset: offset, count: buffer.count, writing: false)
        buffer.baseAddress!.copyMemory(from: start, byteCount: buffer.count)
        try checkAfterAccess("read")
    }

    /// Copies `count` bytes from `offset`.
    public func read(count: Int, from offset: Int) throws(IPCError) -> [UInt8] {
        let start = try address("read", offset: offset, count: count, writing: false)
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: start, byteCount: count)
            initialized = count
        }
        try checkAfterAccess("read")
        return bytes
    }

    /// Copies `bytes` into the mapping at `offset`.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(IPCError) {
        let start = try address("write", offset: offset, count: bytes.count, writing: true)
        start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        try checkAfterAccess("write")
    }

    /// Copies `bytes` into the mapping at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int) throws(IPCError) {
        let outcome = bytes.withUnsafeBytes { buffer in Result { () throws(IPCError) in try write(buffer, at: offset) } }
        try outcome.get()
    }

    /// The integer stored at `offset`, which must be aligned for `T`.
    public func load<T: FixedWidthInteger & BitwiseCopyable>(_ type: T.Type = T.self, at offset: Int) throws(IPCError) -> T {
        try unsafeLoad(type, at: offset)
    }

    /// The value stored at `offset`, which must be aligned for `T`.
    ///
    /// Another process can write any bytes there, so `T` must be valid for every
    /// bit pattern (integers, floating point, and structs or tuples of them) — not
    /// `Bool`, enums or references. Prefer `load` for integers.
    public func unsafeLoad<T: BitwiseCopyable>(_ type: T.Type, at offset: Int) throws(IPCError) -> T {
        let start = try typedAddress("load", T.self, offset: offset, writing: false)
        let value = start.load(as: T.self)
        try checkAfterAccess("load")
        return value
    }

    /// Stores `value` at `offset`, which must be aligned for `T`.
    public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(IPCError) {
        let start = try typedAddress("store", T.self, offset: offset, writing: true)
        start.storeBytes(of: value, as: T.self)
        try checkAfterAccess("store")
    }

    // MARK: checks

    /// Checks an access of `count` bytes at `offset` and returns its address.
    @inline(__always)
    func address(_ operation: String, offset: Int, count: Int, writing: Bool) throws(IPCError) -> UnsafeMutableRawPointer {
        if faultGuard.hasFaulted { throw damageError(operation) }
        if count <= 0 {
            throw IPCError(.invalidArgument, operation: operation, object: label,
                           detail: "an access needs at least one byte (asked for \(count))")
        }
        if offset < 0 || offset > length - count {
            throw IPCError(.outOfRange, operation: operation, object: label,
                           detail: "bytes \(offset)..<\(offset &+ count) are outside the mapping's \(length) bytes")
        }
        if writing ? !protection.contains(.write) : !protection.contains(.read) {
            throw IPCError(.permissionDenied, operation: operation, object: label,
                           detail: release == .detach && writing
                               ? "the segment is attached read-only (SHM_RDONLY); attach it with readOnly: false to write"
                               : "the mapping is not \(writing ? "writable" : "readable")")
        }
        return base + offset
    }

    /// Checks a typed access at `offset`: in range, aligned for `T`.
    @inline(__always)
    func typedAddress<T: ~Copyable>(_ operation: String, _ type: T.Type, offset: Int, writing: Bool) throws(IPCError) -> UnsafeMutableRawPointer {
        let start = try address(operation, offset: offset, count: MemoryLayout<T>.size, writing: writing)
        let alignment = MemoryLayout<T>.alignment
        if offset % alignment != 0 {
            throw IPCError(.invalidArgument, operation: operation, object: label,
                           detail: "offset \(offset) is not aligned for \(T.self) (a multiple of \(alignment))")
        }
        return start
    }

    /// Throws `EFAULT` when the guard caught a fault during the access.
    @inline(__always)
    func checkAfterAccess(_ operation: String) throws(IPCError) {
        if faultGuard.hasFaulted { throw damageError(operation) }
    }

    func damageError(_ operation: String) -> IPCError {
        var detail = "the object under this mapping was shrunk by another process"
        if let size = try? backingSize { detail += " to \(size) bytes" }
        if let fault = faultGuard.firstFault, fault >= UInt(bitPattern: base) {
            detail += "; an access reached mapping offset \(fault - UInt(bitPattern: base)), past its end"
        }
        detail += "; reads there saw zeros and writes were lost; remap to continue"
        return IPCError(.badAddress, operation: operation, object: label, detail: detail)
    }
}
