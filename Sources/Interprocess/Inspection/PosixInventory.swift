import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The POSIX IPC objects of the host (SPEC L2). glibc keeps shared memory objects
/// as files in /dev/shm (`/name` is /dev/shm/name) and named semaphores as
/// /dev/shm/sem.NAME; the kernel keeps message queues as files of the mqueue
/// filesystem, whose content is a status line (`QSIZE:… NOTIFY:… SIGNO:…
/// NOTIFY_PID:…`). Owner, group, mode and times are the files'. Users are the
/// processes that have the file open or mapped (/proc/PID/fd, /proc/PID/maps),
/// counted only when every process could be inspected.
enum PosixInventory {
    /// Where glibc's `shm_open` and `sem_open` keep their objects.
    static let sharedMemoryDirectory = "/dev/shm"

    /// Shared memory objects and named semaphores in /dev/shm.
    static func sharedMemoryAndSemaphores(kinds: Set<IPCInventory.Kind>, files: ProcessFiles, names: inout UserNames) throws(IPCError) -> [IPCInventory.Entry] {
        var entries: [IPCInventory.Entry] = []
        for file in try directoryEntries(sharedMemoryDirectory) {
            let isSemaphore = file.hasPrefix("sem.") && file.utf8.count > 4
            let kind: IPCInventory.Kind = isSemaphore ? .posixSemaphore : .posixSharedMemory
            guard kinds.contains(kind) else { continue }
            let path = sharedMemoryDirectory + "/" + file
            guard var entry = fileEntry(kind, path: path, name: "/" + (isSemaphore ? String(file.dropFirst(4)) : file), files: files, names: &names) else { continue }
            if isSemaphore {
                entry.bytes = nil
                entry.count = semaphoreValue(path: path)
            }
            entries.append(entry)
        }
        return entries
    }

    /// The message queues in a mounted mqueue filesystem at `directory`.
    static func messageQueues(in directory: String, files: ProcessFiles, names: inout UserNames) throws(IPCError) -> [IPCInventory.Entry] {
        var entries: [IPCInventory.Entry] = []
        for file in try directoryEntries(directory) {
            let path = directory + "/" + file
            guard var entry = fileEntry(.posixQueue, path: path, name: "/" + file, files: files, names: &names) else { continue }
            let status = queueStatus(path: path)
            entry.bytes = status.bytes
            entry.count = status.messages
            entries.append(entry)
        }
        return entries
    }

    /// An entry from the file's status; nil for what is not a regular file, or
    /// vanished since the directory was read.
    private static func fileEntry(_ kind: IPCInventory.Kind, path: String, name: String, files: ProcessFiles, names: inout UserNames) -> IPCInventory.Entry? {
        var info = stat()
        guard system_fstatat(AT_FDCWD, path, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var entry = IPCInventory.Entry(kind: kind)
        entry.name = name
        entry.ownerUID = info.st_uid
        entry.ownerName = names.name(of: info.st_uid)
        entry.ownerGID = info.st_gid
        entry.mode = FilePermissions(rawValue: info.st_mode & 0o777)
        entry.bytes = Int(info.st_size)
        entry.changeTime = Int64(info.st_ctim.tv_sec)
        entry.lastUseTime = Int64(info.st_mtim.tv_sec)
        if files.isComplete { entry.users = files.users[ProcessFiles.FileIdentity(info)]?.count ?? 0 }
        return entry
    }

    /// A queue's bytes (`QSIZE` of its status line) and messages (`mq_curmsgs`);
    /// nil when this process may not open it for reading.
    ///
    /// The corresponding C functions are `open`, `read` and `mq_getattr`.
    private static func queueStatus(path: String) -> (bytes: Int?, messages: Int?) {
        let fd = system_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0)
        guard fd >= 0 else { return (nil, nil) }
        let file = OwnedDescriptor(adoptingRaw: fd)
        var bytes: Int?
        if let text = try? file.read(upTo: 256) {
            for field in String(decoding: text, as: UTF8.self).split(separator: " ") where field.hasPrefix("QSIZE:") {
                bytes = Int(field.dropFirst(6))
            }
        }
        var attributes = mq_attr()
        let messages = system_mq_getattr(file.rawValue, &attributes) == 0 ? Int(attributes.mq_curmsgs) : nil
        return (bytes, messages)
    }

    /// The value of a named semaphore: glibc keeps it in the low 32 bits of the
    /// file's first 64-bit word (the high bits count waiters). nil when the file
    /// cannot be read or the layout is not that one.
    private static func semaphoreValue(path: String) -> Int? {
        #if _pointerBitWidth(_64) && canImport(Glibc)
        let fd = system_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0)
        guard fd >= 0 else { return nil }
        let file = OwnedDescriptor(adoptingRaw: fd)
        guard let bytes = try? file.read(upTo: 8), bytes.count == 8 else { return nil }
        let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        return Int(word & 0xffff_ffff)
        #else
        return nil
        #endif
    }
}
