import Synchronization

// Atomics placed in shared memory (SPEC H5): two processes mapping the same object
// can count, flag and hand off with `Synchronization.Atomic` at an agreed offset.

extension MemoryMapping {
    /// Calls `body` with the `Atomic<V>` at `offset`, which must be aligned for it.
    /// The atomic is borrowed: it cannot outlive the call or the mapping.
    ///
    /// The bytes there are the atomic's value (zero bytes are zero): nothing needs
    /// initializing, and every process that maps the object sees the same atomic.
    /// Atomic operations across processes are lock-free on the integer types. The
    /// mapping must be readable and writable (an atomic read may write, e.g. a
    /// compare-exchange for 128-bit values).
    ///
    /// ```swift
    /// let hits = try mapping.withAtomic(UInt64.self, at: 64) { $0.add(1, ordering: .relaxed).newValue }
    /// ```
    ///
    /// Throws like `withBytes`, and `EINVAL` for a misaligned offset.
    public func withAtomic<V: AtomicRepresentable & FixedWidthInteger, R>(
        _ type: V.Type, at offset: Int, _ body: (borrowing Atomic<V>) throws -> R
    ) throws -> R {
        if !protection.contains(.readWrite) {
            throw IPCError(.permissionDenied, operation: "withAtomic", object: label,
                           detail: release == .detach
                               ? "an atomic needs a read-write attachment, and the segment is attached read-only (SHM_RDONLY)"
                               : "an atomic needs a readable and writable mapping")
        }
        let start = try typedAddress("withAtomic", Atomic<V>.self, offset: offset, writing: true)
        let atomic = start.assumingMemoryBound(to: Atomic<V>.self)
        let result: R
        do { result = try body(atomic.pointee) } catch {
            try checkAfterAccess("withAtomic")
            throw error
        }
        try checkAfterAccess("withAtomic")
        return result
    }
}
