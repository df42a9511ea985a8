import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A System V shared memory segment (SPEC H4): a block of memory the kernel keeps,
/// named by a key and identified by `id`, which processes attach to their address
/// space to share it.
///
/// This value is only the identifier (nothing to close; copy it freely). The memory
/// is reached through an `Attachment` from `attach()`, which owns the attached range
/// and detaches it (`shmdt`) when it goes away; its `mapping` offers the same
/// checked views as a POSIX mapping (`MemoryMapping`: closure-lent spans, copies,
/// typed loads and stores, atomics).
///
/// ```swift
/// let segment = try SystemVSharedMemory.create(key: 0x1234, size: 4096)
/// let attachment = try segment.attach()
/// try attachment.mapping.write(Array("hello".utf8), at: 0)
/// // … another process: try SystemVSharedMemory.open(key: 0x1234).attach()
/// try segment.remove()  // it goes away once the last process detached
/// ```
///
/// Lifetime (SPEC V3, L3): a segment belongs to the kernel. It keeps its bytes after
/// every process detached and exited, until it is removed (`remove()`, `ipc shm rm
/// --sysv`, `ipcrm -m`) or the machine restarts. `remove()` while processes are
/// attached only marks it (`Status.isMarkedForRemoval`): its key becomes
/// `IPC_PRIVATE` at once, so `open(key:)` no longer finds it, those attached keep
/// using it — on Linux even `attach()` by identifier still works — and the kernel
/// frees it at the last detach. Attachments end at `shmdt`, at exit (also a
/// crash or `SIGKILL`) and at `exec`; a program started with `Spawn` never inherits
/// one. `fork` would copy them into the child, but the library never forks.
public struct SystemVSharedMemory: SystemVObject, Hashable {
    public static let kind = SystemVKind.sharedMemory

    /// The identifier `shmget` returned. Any process with the permission may attach
    /// the segment by it, without knowing the key.
    public let id: Int32

    /// The segment with identifier `id` (as `ipcs -m` or `ipc ls` print it, or as
    /// another process sent it). Nothing is checked until it is used.
    public init(id: Int32) { self.id = id }

    /// `SHMLBA`, the alignment of an address `attach(at:)` accepts without
    /// `roundingDown`: the page size on x86-64 and arm64.
    public static var segmentLowBoundary: Int { MemoryMapping.pageSize }

    /// `SHMMAX`, the largest segment the kernel allows, from
    /// /proc/sys/kernel/shmmax (nil when it cannot be read). Linux's default is
    /// nearly 2⁶⁴, so in practice `SHMALL` (host-wide pages) limits first.
    public static var maximumSize: UInt64? {
        guard case .success(let numbers) = KernelParameterFile(path: "/proc/sys/kernel/shmmax").read() else { return nil }
        return numbers.first
    }

    /// Creates a new segment of `size` bytes, zero-filled, failing with `EEXIST`
    /// if `key` already names one. With `.private` (the default) every call makes a
    /// new segment that only its identifier reaches. The process umask does not
    /// apply to `permissions` (0600 by default); their read and write bits decide
    /// who may attach it, and how.
    ///
    /// Throws `EINVAL` for a size below `SHMMIN` (1 byte) or above `SHMMAX`,
    /// `ENOSPC` when the host's `SHMALL` pages or `SHMMNI` segments are used up,
    /// `ENOMEM` when the kernel will not reserve that much memory.
    ///
    /// The corresponding C function is `shmget` with `IPC_CREAT | IPC_EXCL`.
    public static func create(
        key: IPCKey = .private, size: Int, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> SystemVSharedMemory {
        try checkSize(size, key: key)
        return try get(key: key, creation: .create, size: size, permissions: permissions)
    }

    /// The existing segment with `key`; `ENOENT` if there is none (also once it
    /// was marked for removal: its key is then `IPC_PRIVATE`).
    ///
    /// The corresponding C function is `shmget` without `IPC_CREAT`.
    public static func open(key: IPCKey) throws(IPCError) -> SystemVSharedMemory {
        try get(key: key, creation: .open, size: 0, permissions: [])
    }

    /// The segment with `key`, created with `size` bytes and `permissions` when
    /// there is none. An existing segment must have at least `size` bytes: the
    /// kernel refuses a smaller one with `EINVAL` (the error's detail gives both
    /// sizes); a larger one is returned as it is (see `size`).
    ///
    /// The corresponding C function is `shmget` with `IPC_CREAT`.
    public static func openOrCreate(
        key: IPCKey, size: Int, permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> SystemVSharedMemory {
        try checkSize(size, key: key)
        return try get(key: key, creation: .openOrCreate, size: size, permissions: permissions)
    }

    /// The segment's size in bytes, fixed at creation.
    ///
    /// The corresponding C function is `shmctl` with `IPC_STAT`.
    public var size: Int {
        get throws(IPCError) { try status().size }
    }

    private static func get(key: IPCKey, creation: SystemVCreation, size: Int, permissions: FilePermissions) throws(IPCError) -> SystemVSharedMemory {
        do {
            return SystemVSharedMemory(id: try kind.get(key: key, creation: creation, permissions: permissions, count: size))
        } catch {
            throw explained(error, key: key, creation: creation, size: size)
        }
    }

    /// Adds what the kernel's errno leaves out.
    private static func explained(_ error: IPCError, key: IPCKey, creation: SystemVCreation, size: Int) -> IPCError {
        var error = error
        switch error.errno {
        case .invalidArgument where creation == .openOrCreate && error.detail == nil:
            if let existing = try? kind.identifier(for: key), let existingSize = try? SystemVSharedMemory(id: existing).size {
                error.detail = "the existing segment (id \(existing)) has \(existingSize) bytes, fewer than the \(size) asked for; "
                    + "a segment never grows: ask for at most \(existingSize) bytes, or remove it and create a larger one"
            }
        case .noSpace:
            error.detail = "the host's shared memory is used up: SHMALL (/proc/sys/kernel/shmall, in pages) "
                + "or SHMMNI (/proc/sys/kernel/shmmni, segments) would be exceeded by \(size) more bytes"
        case .noMemory:
            error.detail = "the kernel would not reserve \(size) bytes of memory for the segment "
                + "(memory accounting: /proc/sys/vm/overcommit_memory)"
        case .fileExists:
            error.detail = "a segment with this key exists; open it, or remove it first"
        default:
            break
        }
        return error
    }

    private static func checkSize(_ size: Int, key: IPCKey) throws(IPCError) {
        let object = SystemVKind.describe(key: key)
        if size <= 0 {
            throw IPCError(.invalidArgument, operation: "shmget", object: object,
                           detail: "a segment needs at least SHMMIN (1) byte; asked for \(size)")
        }
        if let maximum = maximumSize, UInt64(size) > maximum {
            throw IPCError(.invalidArgument, operation: "shmget", object: object,
                           detail: "\(size) bytes is more than SHMMAX (\(maximum) bytes, /proc/sys/kernel/shmmax)")
        }
    }
}
