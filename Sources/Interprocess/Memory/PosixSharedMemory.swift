import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX shared memory object, named (`shm_open`) or anonymous (`memfd_create`),
/// held open by this value (SPEC H3, H2).
///
/// ```swift
/// let memory = try PosixSharedMemory.create("/frames", size: 1 << 20)
/// let mapping = try memory.map()
/// try mapping.store(UInt32(7), at: 0)
/// // … later, when no process needs the name any more:
/// try PosixSharedMemory.unlink("/frames")
/// ```
///
/// Lifetime (SPEC L3): a named object lives in /dev/shm until it is unlinked — it
/// outlives the process that created it and every process that had it open, until
/// the machine restarts. `unlink` removes the name only: processes that have it
/// open or mapped keep using the memory, which is freed with the last of them.
/// The descriptor is close-on-exec, so a program started with `exec` does not
/// inherit it, and mappings never survive `exec`. To share memory with a child,
/// hand it the descriptor (`Spawn.inherit(memory.descriptor, as: 3)`) and let the
/// child map it (`PosixSharedMemory(adopting:)`), or let it open the object by name.
public struct PosixSharedMemory: ~Copyable, Sendable {
    /// How the object is opened.
    public enum Access: Sendable {
        case readOnly
        case readWrite
    }

    /// What `fstat` says about the object.
    public struct Info: Sendable, Equatable {
        /// The size in bytes.
        public var size: Int
        /// The owner's user ID.
        public var userID: uid_t
        /// The owner's group ID.
        public var groupID: gid_t
        /// The permission bits.
        public var permissions: FilePermissions
    }

    /// The name (`/frames`), or nil for anonymous memory and adopted descriptors.
    public let name: PosixIPCName?
    /// The descriptor (close-on-exec). Hand it to a child with `Spawn.inherit`.
    public let descriptor: OwnedDescriptor
    /// How the object was opened; decides what `map()` allows by default.
    public let access: Access

    /// Takes ownership of a descriptor of a shared memory object, a memfd or a file,
    /// for example one inherited from a parent process.
    public init(adopting descriptor: consuming OwnedDescriptor, name: PosixIPCName? = nil, access: Access = .readWrite) {
        self.descriptor = descriptor
        self.name = name
        self.access = access
    }

    /// Creates a new object, failing with `EEXIST` if the name exists, and sets its
    /// size. The process umask applies to `permissions`.
    ///
    /// The corresponding C functions are `shm_open` with `O_CREAT | O_EXCL` and
    /// `ftruncate`.
    public static func create(
        _ name: PosixIPCName, size: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSharedMemory {
        try name.validate(for: .sharedMemory)
        try checkSize(size, object: name.quoted)
        let memory = try openDescriptor(name, flags: O_RDWR | O_CREAT | O_EXCL, permissions: permissions, access: .readWrite)
        if size > 0 {
            do throws(IPCError) { try memory.resize(to: size) } catch {
                _ = name.withCString { system_shm_unlink($0) }
                throw error
            }
        }
        return memory
    }

    /// Opens an existing object; `ENOENT` when there is none.
    ///
    /// The corresponding C function is `shm_open`.
    public static func open(_ name: PosixIPCName, access: Access = .readWrite) throws(IPCError) -> PosixSharedMemory {
        try name.validate(for: .sharedMemory)
        return try openDescriptor(name, flags: access == .readOnly ? O_RDONLY : O_RDWR, permissions: [], access: access)
    }

    /// Opens the object, creating it (with `size` and `permissions`) when there is
    /// none. `size` applies only when this call created the object.
    ///
    /// The corresponding C functions are `shm_open` and `ftruncate`.
    public static func openOrCreate(
        _ name: PosixIPCName, size: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSharedMemory {
        try name.validate(for: .sharedMemory)
        try checkSize(size, object: name.quoted)
        // Exclusive creation first, so this call knows whether it created the object.
        while true {
            do throws(IPCError) {
                return try create(name, size: size, permissions: permissions)
            } catch where error.errno == .fileExists {
                do throws(IPCError) {
                    return try open(name)
                } catch where error.errno == .noSuchFileOrDirectory {
                    continue  // removed between the two calls: try again
                }
            }
        }
    }

    /// Creates anonymous shared memory of `size` bytes: no name, freed when the last
    /// descriptor and mapping are gone (SPEC H2). Share it with a child by handing
    /// it the descriptor; `label` shows in /proc/PID/fd as `memfd:LABEL`.
    ///
    /// The corresponding C functions are `memfd_create` with `MFD_CLOEXEC` and
    /// `ftruncate`.
    public static func anonymous(size: Int, label: String = "interprocess") throws(IPCError) -> PosixSharedMemory {
        if label.utf8.count > 249 || label.utf8.contains(0) || label.contains("/") {
            throw IPCError(.invalidArgument, operation: "memfd_create", object: IPCError.describe(path: label),
                           detail: "a label has at most 249 bytes, no NUL and no slash")
        }
        try checkSize(size, object: IPCError.describe(path: label))
        let fd = label.withCString { system_memfd_create($0, cipc_mfd_cloexec()) }
        if fd < 0 { throw IPCError.last("memfd_create", object: IPCError.describe(path: label)) }
        let memory = PosixSharedMemory(adopting: OwnedDescriptor(adoptingRaw: fd), name: nil, access: .readWrite)
        if size > 0 { try memory.resize(to: size) }
        return memory
    }

    /// Removes the name. Processes that have the object open or mapped keep it
    /// until they close and unmap it; a later `create` makes a new object.
    ///
    /// The corresponding C function is `shm_unlink`.
    public static func unlink(_ name: PosixIPCName) throws(IPCError) {
        try name.validate(for: .sharedMemory, operation: "shm_unlink")
        if name.withCString({ system_shm_unlink($0) }) != 0 {
            throw IPCError.last("shm_unlink", object: name.quoted)
        }
    }

    /// `create` with the name whose bytes are the UTF-8 of `name`.
    public static func create(
        _ name: String, size: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSharedMemory {
        try create(PosixIPCName(name), size: size, permissions: permissions)
    }

    /// `open` with the name whose bytes are the UTF-8 of `name`.
    public static func open(_ name: String, access: Access = .readWrite) throws(IPCError) -> PosixSharedMemory {
        try open(PosixIPCName(name), access: access)
    }

    /// `openOrCreate` with the name whose bytes are the UTF-8 of `name`.
    public static func openOrCreate(
        _ name: String, size: Int = 0, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> PosixSharedMemory {
        try openOrCreate(PosixIPCName(name), size: size, permissions: permissions)
    }

    /// `unlink` with the name whose bytes are the UTF-8 of `name`.
    public static func unlink(_ name: String) throws(IPCError) { try unlink(PosixIPCName(name)) }

    /// The size in bytes. The corresponding C function is `fstat`.
    public var size: Int {
        get throws(IPCError) { try info().size }
    }

    /// Sets the size: new bytes read as zero; bytes past a smaller size are gone,
    /// and other processes' mappings of them read as an error (see `MemoryMapping`).
    ///
    /// The corresponding C function is `ftruncate`.
    public func resize(to size: Int) throws(IPCError) {
        try Self.checkSize(size, object: objectDescription)
        if retryingInterrupts({ system_ftruncate(descriptor.rawValue, off_t(size)) }) != 0 {
            throw IPCError.last("ftruncate", object: objectDescription)
        }
    }

    /// Size, owner and permission bits. The corresponding C function is `fstat`.
    public func info() throws(IPCError) -> Info {
        var status = stat()
        if system_fstat(descriptor.rawValue, &status) != 0 { throw IPCError.last("fstat", object: objectDescription) }
        return Info(size: Int(status.st_size), userID: status.st_uid, groupID: status.st_gid,
                    permissions: FilePermissions(rawValue: status.st_mode & 0o7777))
    }

    /// Maps `length` bytes from `offset` (all of the object when nil).
    ///
    /// `protection` defaults to what `access` allows. See `MemoryMapping`.
    public func map(
        _ protection: MemoryMapping.Protection? = nil, sharing: MemoryMapping.Sharing = .shared,
        offset: Int = 0, length: Int? = nil
    ) throws(IPCError) -> MemoryMapping {
        try MemoryMapping(descriptor, protection: protection ?? (access == .readOnly ? .read : .readWrite),
                          sharing: sharing, offset: offset, length: length, label: objectDescription)
    }

    /// Closes the descriptor, reporting errors. Mappings stay valid.
    public consuming func close() throws(IPCError) {
        try descriptor.close()
    }

    var objectDescription: String {
        name?.quoted ?? IPCError.describe(fd: descriptor.rawValue)
    }

    private static func checkSize(_ size: Int, object: String) throws(IPCError) {
        if size < 0 {
            throw IPCError(.invalidArgument, operation: "ftruncate", object: object,
                           detail: "a size cannot be negative (\(size))")
        }
    }

    /// Opens the object's file without waiting for anything: `O_NONBLOCK` (a FIFO
    /// there would wait for a writer), `O_NOFOLLOW`, then only a regular file is
    /// accepted (see `SharedDirectoryFile`).
    private static func openDescriptor(_ name: PosixIPCName, flags: CInt, permissions: FilePermissions, access: Access) throws(IPCError) -> PosixSharedMemory {
        let noun = "shared memory object"
        // glibc's shm_open adds O_CLOEXEC and O_NOFOLLOW itself; say so anyway.
        let fd = name.withCString { system_shm_open($0, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, permissions.rawValue) }
        if fd < 0 {
            let code = lastErrno
            throw IPCError(Errno(rawValue: code), operation: "shm_open", object: name.quoted,
                           detail: SharedDirectoryFile.explainOpenFailure(code, noun: noun, path: NamedSemaphoreFile.path(name, prefix: "")))
        }
        let descriptor = OwnedDescriptor(adoptingRaw: fd)
        _ = try SharedDirectoryFile.requireRegularFile(fd, operation: "shm_open", object: name.quoted, noun: noun)
        try SharedDirectoryFile.clearNonBlocking(fd, object: name.quoted)
        return PosixSharedMemory(adopting: descriptor, name: name, access: access)
    }
}
