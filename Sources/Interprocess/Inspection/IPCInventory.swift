#if canImport(Glibc)
import Glibc
#endif

/// Every IPC object on the host, as the kernel reports it (SPEC L2, V3): System V
/// queues, semaphore sets and shared memory segments, POSIX queues, shared memory
/// objects and named semaphores, record locks, and doors — the jobs of `ipcs`, `lsipc`
/// and `lslocks`. `remove` and `removeAll(ownedBy:)` do the job of `ipcrm`.
///
/// ```swift
/// let inventory = IPCInventory.snapshot(kinds: [.systemVSharedMemory], owner: getuid())
/// for entry in inventory.entries { print(entry.id!, entry.bytes!, entry.users!) }
/// ```
///
/// A snapshot is a moment's view: objects appear and go at any time. The System V
/// and lock tables are the kernel's for this process's IPC namespace
/// (/proc/sysvipc, /proc/locks); POSIX objects are files (/dev/shm, the mqueue
/// filesystem — see `MessageQueueMount` for how queues are listed when no mqueue
/// filesystem is mounted).
public struct IPCInventory: Sendable {
    /// The objects, in the order of `Kind.allCases`, then by identifier or name.
    public var entries: [Entry]
    /// The kinds asked for that could not be listed, and why (for example POSIX
    /// queues when no mqueue filesystem is mounted and this process may not mount
    /// one). A kind missing here and from `entries` has no objects. A snapshot
    /// with anything here is incomplete.
    public var unavailable: [Kind: String]
    /// Files found where objects live that are no objects (a FIFO or a directory
    /// in /dev/shm), left out and never opened; in the order of `entries`.
    public var skipped: [Skipped]

    public init(entries: [Entry], unavailable: [Kind: String] = [:], skipped: [Skipped] = []) {
        self.entries = entries
        self.unavailable = unavailable
        self.skipped = skipped
    }

    /// The objects of `kinds` on the host; with `owner`, only those whose owner's
    /// user id (`Entry.ownerUID`) is `owner`. A kind that cannot be read is
    /// reported in `unavailable` and does not stop the others.
    ///
    /// Taking a snapshot changes nothing on the host: no object's contents, times
    /// or state (see `PosixInventory`).
    ///
    /// The corresponding C functions are `open`/`read` on /proc/sysvipc/msg, sem,
    /// shm and /proc/locks, `opendir`/`fstatat` on /dev/shm and the mqueue
    /// filesystem, `mq_getattr`, and `readlink` on /proc/PID/fd.
    public static func snapshot(kinds: Set<Kind> = Set(Kind.allCases), owner: uid_t? = nil) -> IPCInventory {
        var names = UserNames()
        var entries: [Entry] = []
        var unavailable: [Kind: String] = [:]
        var skipped: [Skipped] = []
        for kind in SystemVKind.allCases where kinds.contains(Kind(kind)) {
            do { entries += try SystemVInventory.entries(kind, names: &names) } catch { unavailable[Kind(kind)] = error.description }
        }
        var files = ProcessFiles()
        if !kinds.isDisjoint(with: [.posixQueue, .posixSharedMemory, .posixSemaphore]) { files.addAll(maps: true) }
        if kinds.contains(.posixQueue) {
            do {
                let queues = try MessageQueueMount.withQueueDirectory { [files] (directory) throws(IPCError) in
                    var names = UserNames()
                    return try PosixInventory.messageQueues(in: directory, files: files, names: &names)
                }
                entries += queues.entries
                skipped += queues.skipped
            } catch { unavailable[.posixQueue] = error.description }
        }
        if kinds.contains(.posixSharedMemory) || kinds.contains(.posixSemaphore) {
            do {
                let objects = try PosixInventory.sharedMemoryAndSemaphores(kinds: kinds, files: files, names: &names)
                entries += objects.entries
                skipped += objects.skipped
            } catch {
                if kinds.contains(.posixSharedMemory) { unavailable[.posixSharedMemory] = error.description }
                if kinds.contains(.posixSemaphore) { unavailable[.posixSemaphore] = error.description }
            }
        }
        if kinds.contains(.recordLock) {
            do { entries += try RecordLockInventory.entries(names: &names) } catch { unavailable[.recordLock] = error.description }
        }
        if kinds.contains(.door) { entries += DoorInventory.entries(names: &names) }
        if let owner {
            entries.removeAll { $0.ownerUID != owner }
            skipped.removeAll { $0.ownerUID != owner }
        }
        let order = Dictionary(uniqueKeysWithValues: Kind.allCases.enumerated().map { ($1, $0) })
        entries.sort { a, b in
            if a.kind != b.kind { return order[a.kind]! < order[b.kind]! }
            if a.id != b.id { return (a.id ?? 0) < (b.id ?? 0) }
            return (a.name?.bytes ?? a.path ?? []).lexicographicallyPrecedes(b.name?.bytes ?? b.path ?? [])
        }
        skipped.sort { a, b in a.kind != b.kind ? order[a.kind]! < order[b.kind]! : a.path.lexicographicallyPrecedes(b.path) }
        return IPCInventory(entries: entries, unavailable: unavailable, skipped: skipped)
    }
}
