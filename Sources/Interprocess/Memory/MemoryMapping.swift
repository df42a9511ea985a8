import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A range of memory mapped from a file, a shared memory object or anonymous memory,
/// or a System V shared memory segment attached with `shmat`, unmapped (or
/// detached) when this value goes away (SPEC H1, H2, H4, H5).
///
/// The mapped bytes are reached only through this value — closures that get a
/// `RawSpan`/`MutableRawSpan` which cannot outlive the call, and copying or typed
/// accessors — so the compiler rules out any use after unmap. Every access is
/// checked: a zero-size or out-of-range access, a write to a read-only mapping or a
/// misaligned typed access throws `IPCError` before memory is touched.
///
/// Another process may shrink the backing object while this one uses the mapping.
/// Touching the lost pages would raise `SIGBUS`; the library catches it for its own
/// mappings (`isDamaged`): the access
/// completes on zero-filled pages and throws `EFAULT`, and so does every later
/// access, until `remap` maps the object again. A System V segment cannot shrink,
/// so its attachments are not watched, and they cannot be remapped or grown.
///
/// ```swift
/// let memory = try PosixSharedMemory.create("/counter", size: 4096)
/// let mapping = try memory.map()
/// try mapping.withAtomic(UInt64.self, at: 0) { $0.add(1, ordering: .relaxed) }
/// ```
///
/// Across `exec` and `posix_spawn` (SPEC L3): a new program never inherits a
/// mapping, because `exec` replaces the address space. A child shares memory with
/// its parent by mapping the same object: by name, or through a descriptor the
/// parent hands it (`PosixSharedMemory.anonymous` plus `Spawn.inherit`). `fork` would
/// inherit shared mappings, but the library never forks a threaded process.
public struct MemoryMapping: ~Copyable, @unchecked Sendable {
    /// What the mapped pages allow.
    public struct Protection: OptionSet, Sendable, Hashable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }

        /// `PROT_READ`.
        public static let read = Protection(rawValue: PROT_READ)
        /// `PROT_WRITE`. Most hardware needs `read` as well to write.
        public static let write = Protection(rawValue: PROT_WRITE)
        /// Read and write.
        public static let readWrite: Protection = [.read, .write]
        /// `PROT_NONE`: nothing; every access throws `EACCES`.
        public static let none: Protection = []
    }

    /// Whether writes reach the backing object and other processes.
    public enum Sharing: Sendable {
        /// `MAP_SHARED`: writes go to the object and are seen by every process
        /// mapping it.
        case shared
        /// `MAP_PRIVATE`: writes are copy-on-write and stay in this mapping.
        case `private`
    }

    /// How `synchronize` writes dirty pages back.
    public enum SyncMode: Sendable {
        /// `MS_SYNC`: returns once the pages are written.
        case synchronous
        /// `MS_ASYNC`: schedules the write and returns.
        case asynchronous
    }

    var base: UnsafeMutableRawPointer
    /// The mapped length in bytes.
    public internal(set) var length: Int
    /// The offset in the backing object where the mapping starts.
    public let offset: Int
    public internal(set) var protection: Protection
    public let sharing: Sharing
    /// A duplicate of the backing descriptor (-1 for anonymous memory), kept to
    /// rebuild the mapping and to read the object's size.
    let backing: CInt
    let faultGuard: MappingFaultGuard
    /// The object, for errors: `"/frames"`, `fd 5`, `anonymous`.
    let label: String
    /// Set by `unmap()`, so the deinit does not unmap again.
    private var isUnmapped = false
    /// How the pages are given back.
    let release: Release

    /// How a mapping's pages are given back to the kernel.
    enum Release {
        /// `munmap`: a mapping made with `mmap`.
        case unmap
        /// `shmdt`: a System V segment attached with `shmat`.
        case detach
    }

    /// The page size: offsets must be multiples of it.
    public static let pageSize = Int(sysconf(CInt(_SC_PAGESIZE)))

    /// Maps `length` bytes of the object `descriptor` refers to, from `offset` (a
    /// multiple of the page size). With a nil length the mapping covers the object
    /// from `offset` to its current end. The mapping keeps its own duplicate of the
    /// descriptor, so the caller may close its own.
    ///
    /// A mapping may be longer than the object; the part past the end reads as an
    /// `EFAULT` error until the object grows and the mapping is remapped.
    ///
    /// The corresponding C function is `mmap`.
    public init(
        _ descriptor: borrowing OwnedDescriptor, protection: Protection = .readWrite, sharing: Sharing = .shared,
        offset: Int = 0, length: Int? = nil
    ) throws(IPCError) {
        try self.init(descriptor, protection: protection, sharing: sharing, offset: offset, length: length,
                      label: IPCError.describe(fd: descriptor.rawValue))
    }

    /// - Parameter keepingDescriptor: false to keep no duplicate of `descriptor`
    ///   (no `remap`, no `backingSize`): for a fixed-size object such as a named
    ///   semaphore, which should hold no descriptor open, as with glibc.
    init(
        _ descriptor: borrowing OwnedDescriptor, protection: Protection, sharing: Sharing,
        offset: Int, length: Int?, label: String, keepingDescriptor: Bool = true
    ) throws(IPCError) {
        let fd = descriptor.rawValue
        if offset < 0 || offset % Self.pageSize != 0 {
            throw IPCError(.invalidArgument, operation: "mmap", object: label,
                           detail: "the offset (\(offset)) must be a non-negative multiple of the page size (\(Self.pageSize))")
        }
        var mappedLength = length ?? 0
        if length == nil {
            var status = stat()
            if system_fstat(fd, &status) != 0 { throw IPCError.last("fstat", object: label) }
            mappedLength = Int(status.st_size) - offset
            if mappedLength <= 0 {
                throw IPCError(.invalidArgument, operation: "mmap", object: label,
                               detail: "nothing to map: the object has \(status.st_size) bytes and the offset is \(offset); set its size first")
            }
        }
        try Self.checkLength(mappedLength, label: label)
        let duplicate = keepingDescriptor ? system_fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1
        if keepingDescriptor, duplicate < 0 { throw IPCError.last("dup", object: label) }
        let flags = sharing == .shared ? MAP_SHARED : MAP_PRIVATE
        guard let address = system_mmap(nil, mappedLength, protection.rawValue, flags, fd, off_t(offset)) else {
            let error = IPCError.last("mmap", object: label)
            if duplicate >= 0 { PosixLockRegistry.closeLibraryDescriptor(duplicate) }
            throw error
        }
        do throws(IPCError) {
            faultGuard = try MappingFaultGuard(start: address, length: mappedLength)
        } catch {
            _ = system_munmap(address, mappedLength)
            if duplicate >= 0 { PosixLockRegistry.closeLibraryDescriptor(duplicate) }
            throw error
        }
        self.base = address
        self.length = mappedLength
        self.offset = offset
        self.protection = protection
        self.sharing = sharing
        self.backing = duplicate
        self.label = label
        self.release = .unmap
    }

    private init(anonymousLength length: Int, protection: Protection, sharing: Sharing) throws(IPCError) {
        let label = "anonymous"
        try Self.checkLength(length, label: label)
        let flags = (sharing == .shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS
        guard let address = system_mmap(nil, length, protection.rawValue, flags, -1, 0) else {
            throw IPCError.last("mmap", object: label)
        }
        do throws(IPCError) {
            faultGuard = try MappingFaultGuard(start: address, length: length)
        } catch {
            _ = system_munmap(address, length)
            throw error
        }
        self.base = address
        self.length = length
        self.offset = 0
        self.protection = protection
        self.sharing = sharing
        self.backing = -1
        self.label = label
        self.release = .unmap
    }

    /// Takes over `length` bytes of a System V segment that `shmat` attached at
    /// `address`; they are detached with `shmdt`.
    init(attachedAt address: UnsafeMutableRawPointer, length: Int, protection: Protection, label: String) {
        self.base = address
        self.length = length
        self.offset = 0
        self.protection = protection
        self.sharing = .shared
        self.backing = -1
        self.faultGuard = .unguarded
        self.label = label
        self.release = .detach
    }

    /// Maps `length` bytes of zero-filled anonymous memory (`MAP_ANONYMOUS`).
    ///
    /// It is shared with nobody else: a child started with `posix_spawn` does not
    /// inherit it. For memory shared with a child, use `PosixSharedMemory.anonymous`
    /// and hand the child its descriptor.
    ///
    /// The corresponding C function is `mmap`.
    public static func anonymous(length: Int, protection: Protection = .readWrite, sharing: Sharing = .private) throws(IPCError) -> MemoryMapping {
        try MemoryMapping(anonymousLength: length, protection: protection, sharing: sharing)
    }

    deinit {
        if !isUnmapped {
            faultGuard.unregister()
            _ = releasePages()
        }
        // Through the registry: closing a descriptor of a file this process
        // holds POSIX record locks on would release them (SPEC Y8).
        if backing >= 0 { PosixLockRegistry.closeLibraryDescriptor(backing) }
    }

    /// Unmaps now (detaches a System V segment), reporting a failure.
    ///
    /// The corresponding C function is `munmap` (`shmdt` for a System V segment).
    public consuming func unmap() throws(IPCError) {
        faultGuard.unregister()
        isUnmapped = true
        if releasePages() != 0 { throw IPCError.last(release == .unmap ? "munmap" : "shmdt", object: label) }
    }

    private func releasePages() -> CInt {
        switch release {
        case .unmap: system_munmap(base, length)
        case .detach: system_shmdt(base)
        }
    }

    /// Whether the mapping's bytes are the object's: false once another process
    /// shrank the object under an access (see `remap`).
    public var isDamaged: Bool { faultGuard.hasFaulted }

    /// The current size of the backing object (nil for anonymous memory and System V
    /// segments).
    ///
    /// The corresponding C function is `fstat`.
    public var backingSize: Int? {
        get throws(IPCError) {
            if backing < 0 { return nil }
            var status = stat()
            if system_fstat(backing, &status) != 0 { throw IPCError.last("fstat", object: label) }
            return Int(status.st_size)
        }
    }

    static func checkLength(_ length: Int, label: String) throws(IPCError) {
        if length <= 0 {
            throw IPCError(.invalidArgument, operation: "mmap", object: label,
                           detail: "a mapping needs a positive length (\(length))")
        }
    }
}
