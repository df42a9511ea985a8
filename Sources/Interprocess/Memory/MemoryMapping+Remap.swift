import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Changing a mapping: its length, its protection, and writing it back (SPEC H1).

extension MemoryMapping {
    /// Changes the mapped length, keeping the offset; the mapping may move. Use it
    /// after the object grew (or shrank), and to repair a damaged mapping.
    ///
    /// A private mapping keeps its copied-on-write pages (`mremap`); a shared or
    /// damaged one is mapped again from the object (`mmap`, then `munmap` of the old
    /// range), which drops the zero-filled pages the guard put in place.
    ///
    /// The corresponding C functions are `mremap`, or `mmap` and `munmap`.
    /// A System V attachment has its segment's fixed size: `EINVAL`.
    public mutating func remap(length newLength: Int) throws(IPCError) {
        try checkRemappable("mremap")
        try Self.checkLength(newLength, label: label)
        let damaged = faultGuard.hasFaulted
        if backing < 0 || (sharing == .private && !damaged) {
            // Unwatched while it moves: mremap may grow the range in place.
            faultGuard.suspend()
            guard let moved = system_mremap(base, length, newLength, cipc_mremap_maymove()) else {
                let error = IPCError.last("mremap", object: label)
                faultGuard.move(to: base, length: length)
                throw error
            }
            replace(with: moved, length: newLength)
            return
        }
        let flags = sharing == .shared ? MAP_SHARED : MAP_PRIVATE
        guard let fresh = system_mmap(nil, newLength, protection.rawValue, flags, backing, off_t(offset)) else {
            throw IPCError.last("mmap", object: label)
        }
        faultGuard.suspend()
        _ = system_munmap(base, length)
        replace(with: fresh, length: newLength)
    }

    private func checkRemappable(_ operation: String) throws(IPCError) {
        if release == .detach {
            throw IPCError(.invalidArgument, operation: operation, object: label,
                           detail: "a System V segment keeps the size it was created with; attach it again, or create a larger segment")
        }
    }

    /// Points the mapping and its guard at a new range.
    private mutating func replace(with address: UnsafeMutableRawPointer, length newLength: Int) {
        base = address
        length = newLength
        faultGuard.move(to: address, length: newLength)
    }

    /// Makes the backing object at least `offset + length` bytes long (`ftruncate`)
    /// and maps `length` bytes. It never shrinks the object.
    ///
    /// The corresponding C functions are `fstat`, `ftruncate` and `mremap` or `mmap`.
    /// A System V attachment has its segment's fixed size: `EINVAL`.
    public mutating func grow(to newLength: Int) throws(IPCError) {
        try checkRemappable("ftruncate")
        try Self.checkLength(newLength, label: label)
        if backing >= 0, let size = try backingSize, size < offset + newLength {
            if retryingInterrupts({ system_ftruncate(backing, off_t(offset + newLength)) }) != 0 {
                throw IPCError.last("ftruncate", object: label)
            }
        }
        try remap(length: newLength)
    }

    /// Changes what the pages allow. The corresponding C function is `mprotect`.
    public mutating func setProtection(_ newProtection: Protection) throws(IPCError) {
        if system_mprotect(base, length, newProtection.rawValue) != 0 { throw IPCError.last("mprotect", object: label) }
        protection = newProtection
    }

    /// Writes dirty pages of `range` (all of the mapping when nil) back to the
    /// object; with `invalidate`, also asks the kernel to drop cached copies so
    /// later reads see the object (`MS_INVALIDATE`).
    ///
    /// The corresponding C function is `msync`.
    public func synchronize(_ mode: SyncMode = .synchronous, invalidate: Bool = false, range: Range<Int>? = nil) throws(IPCError) {
        let range = range ?? 0..<length
        if range.isEmpty || range.lowerBound < 0 || range.upperBound > length {
            throw IPCError(.outOfRange, operation: "msync", object: label,
                           detail: "bytes \(range) are not a non-empty part of the mapping's \(length) bytes")
        }
        // msync wants a page-aligned start; the mapping itself starts on a page.
        let start = range.lowerBound - range.lowerBound % Self.pageSize
        var flags = mode == .synchronous ? MS_SYNC : MS_ASYNC
        if invalidate { flags |= MS_INVALIDATE }
        if retryingInterrupts({ system_msync(base + start, range.upperBound - start, flags) }) != 0 {
            throw IPCError.last("msync", object: label)
        }
    }
}
