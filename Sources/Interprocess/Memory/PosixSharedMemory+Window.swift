#if canImport(Glibc)
import Glibc
#endif

// Mapping only the part of an object that an access touches, and the most an object
// can hold (SPEC H3, H5).

extension PosixSharedMemory {
    /// Maps the pages that hold `range` of the object, and no others: the mapping
    /// starts at `range.lowerBound` rounded down to a multiple of the page size
    /// (its `offset`), so byte `i` of the object is at `i - mapping.offset` in it.
    ///
    /// Use it to reach a few bytes of a large object, or to walk a large range in
    /// windows, without mapping (and reserving address space for) all of it.
    /// Throws `EINVAL` for an empty or negative range, before any call.
    ///
    /// The corresponding C function is `mmap`.
    public func map(
        covering range: Range<Int>, _ protection: MemoryMapping.Protection? = nil, sharing: MemoryMapping.Sharing = .shared
    ) throws(IPCError) -> MemoryMapping {
        if range.lowerBound < 0 || range.isEmpty {
            throw IPCError(.invalidArgument, operation: "mmap", object: objectDescription,
                           detail: "a window needs a non-empty range of non-negative offsets, not \(range)")
        }
        let start = range.lowerBound - range.lowerBound % MemoryMapping.pageSize
        return try map(protection, sharing: sharing, offset: start, length: range.upperBound - start)
    }

    /// The size of the filesystem that holds the object (for /dev/shm, a tmpfs: its
    /// `size=` mount option, by default half of the RAM): the most the object could
    /// ever hold. The object's size may be set larger (a sparse object), but the
    /// pages past this cannot all be filled: writing them fails (`SIGBUS` through a
    /// mapping). Nil when the filesystem sets no limit (the internal one that holds
    /// anonymous memory from `anonymous(size:)`).
    ///
    /// The corresponding C function is `fstatvfs`.
    public var filesystemCapacity: Int? {
        get throws(IPCError) {
            var info = statvfs()
            if system_fstatvfs(descriptor.rawValue, &info) != 0 { throw IPCError.last("fstatvfs", object: objectDescription) }
            if info.f_blocks == 0 { return nil }
            let (bytes, overflow) = Int(clamping: info.f_blocks).multipliedReportingOverflow(by: Int(clamping: info.f_frsize))
            return overflow ? Int.max : bytes
        }
    }
}
