#if canImport(Glibc)
import Glibc
#endif

extension SystemVSharedMemory {
    /// A segment attached to this process's address space, detached (`shmdt`) when
    /// this value goes away or by `detach()` (SPEC H4, H5).
    ///
    /// The bytes are reached only through `mapping`, a `MemoryMapping` whose pages
    /// are given back with `shmdt` instead of `munmap`; every view it lends is
    /// checked and cannot outlive it, so no use after detach compiles. The mapping
    /// covers the segment's `size` bytes; it cannot be remapped or grown (a segment
    /// keeps its size), and it is not watched for `SIGBUS` (a segment never
    /// shrinks under its attachments).
    ///
    /// The mapping may be moved out to code that takes a `MemoryMapping`
    /// (`let mapping = attachment.mapping` consumes the attachment); it then
    /// detaches when that mapping goes away.
    @frozen
    public struct Attachment: ~Copyable, Sendable {
        /// The attached bytes, read-only when attached with `readOnly`.
        public let mapping: MemoryMapping
        /// The segment attached.
        public let segment: SystemVSharedMemory

        /// Where the segment is attached in this process, for comparisons and
        /// address hints only: reach the bytes through `mapping`.
        public var address: UnsafeRawPointer { UnsafeRawPointer(mapping.base) }

        /// The number of bytes attached: the segment's size.
        public var count: Int { mapping.length }

        /// Whether the segment is attached read-only (`SHM_RDONLY`): writes throw
        /// `EACCES` before memory is touched.
        public var isReadOnly: Bool { !mapping.protection.contains(.write) }

        /// Detaches now, reporting a failure. The consumed attachment cannot be
        /// used again.
        ///
        /// The corresponding C function is `shmdt`.
        public consuming func detach() throws(IPCError) {
            try mapping.unmap()
        }
    }

    /// Attaches the segment to this process's address space.
    ///
    /// - `readOnly`: attach with `SHM_RDONLY` (needs read permission only); writes
    ///   through the mapping then throw `EACCES`. Otherwise read and write
    ///   permission are needed (`EACCES` from the kernel).
    /// - `address`: nil lets the kernel choose (recommended). An address must be a
    ///   multiple of `SHMLBA` (`segmentLowBoundary`, the page size) unless
    ///   `roundingDown` (`SHM_RND`) rounds it down to one; a misaligned address
    ///   without it is `EINVAL` before the call. The range must be free: the
    ///   kernel never replaces an existing mapping of the process (`EINVAL`).
    ///
    /// Throws `EINVAL` also when there is no segment with this identifier, and
    /// `EIDRM` when it is being destroyed.
    ///
    /// The corresponding C functions are `shmat` and `shmctl` with `IPC_STAT` (for
    /// the size).
    public func attach(readOnly: Bool = false, at address: UnsafeRawPointer? = nil, roundingDown: Bool = false) throws(IPCError) -> Attachment {
        let object = SystemVKind.describe(id: id)
        let boundary = Self.segmentLowBoundary
        if let address, !roundingDown, UInt(bitPattern: address) % UInt(boundary) != 0 {
            let rounded = UInt(bitPattern: address) & ~UInt(boundary - 1)
            throw IPCError(.invalidArgument, operation: "shmat", object: object,
                           detail: "the address \(Self.hex(UInt(bitPattern: address))) is not a multiple of SHMLBA (\(boundary) bytes); "
                               + "pass roundingDown: true (SHM_RND) to attach at \(Self.hex(rounded))")
        }
        var flags: CInt = 0
        if readOnly { flags |= SHM_RDONLY }
        if roundingDown { flags |= SHM_RND }
        guard let base = system_shmat(id, address, flags), base != UnsafeMutableRawPointer(bitPattern: -1) else {
            var error = IPCError.last("shmat", object: object)
            if error.errno == .invalidArgument {
                error.detail = "no segment has this identifier"
                if let address {
                    error.detail! += ", or the range at \(Self.hex(UInt(bitPattern: address))) is not free in this process (shmat never replaces a mapping)"
                }
            } else if error.errno == .permissionDenied {
                error.detail = readOnly ? "attaching needs read permission" : "attaching read-write needs read and write permission"
            }
            throw error
        }
        var info = shmid_ds()
        if system_shmctl(id, IPC_STAT, &info) != 0 {
            let error = IPCError.last("shmctl(IPC_STAT)", object: object)
            _ = system_shmdt(base)
            throw error
        }
        let mapping = MemoryMapping(attachedAt: base, length: Int(info.shm_segsz),
                                    protection: readOnly ? .read : .readWrite, label: object)
        return Attachment(mapping: mapping, segment: self)
    }

    private static func hex(_ value: UInt) -> String { "0x" + String(value, radix: 16) }
}
