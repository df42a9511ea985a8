import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The POSIX IPC objects of the host (SPEC L2). glibc keeps shared memory objects
/// as files in /dev/shm (`/name` is /dev/shm/name) and named semaphores as
/// /dev/shm/sem.NAME; the kernel keeps message queues as files of the mqueue
/// filesystem. Owner, group, mode and times are the files'. Users are the
/// processes that have the file open or mapped (/proc/PID/fd, /proc/PID/maps),
/// counted only when every process could be inspected.
///
/// Listing changes nothing on the host: a file is examined with `fstatat`; a
/// queue's file is opened only for `mq_getattr` and never read (reading it sets
/// the queue's access and change times, so its `QSIZE` is not reported); a
/// semaphore's file is read only with `O_NOATIME`. What is not a regular file
/// is never opened and is reported as skipped; a `sem.NAME` file that is not a
/// semaphore is reported as malformed (see `ObjectDirectory`).
enum PosixInventory {
    /// Where glibc's `shm_open` and `sem_open` keep their objects.
    static let sharedMemoryDirectory = "/dev/shm"

    /// What one directory held.
    struct Listing {
        var entries: [IPCInventory.Entry] = []
        var skipped: [IPCInventory.Skipped] = []
    }

    /// Shared memory objects and named semaphores in /dev/shm.
    static func sharedMemoryAndSemaphores(kinds: Set<IPCInventory.Kind>, files: ProcessFiles, names: inout UserNames) throws(IPCError) -> Listing {
        let directory = try ObjectDirectory(sharedMemoryDirectory)
        var listing = Listing()
        let semaphorePrefix = Array("sem.".utf8)
        for file in try directory.names() {
            let isSemaphore = file.starts(with: semaphorePrefix) && file.count > semaphorePrefix.count
            let kind: IPCInventory.Kind = isSemaphore ? .posixSemaphore : .posixSharedMemory
            guard kinds.contains(kind), let info = directory.status(of: file) else { continue }
            guard isRegular(info) else {
                listing.skipped.append(skipped(kind, directory: directory, file: file, info: info))
                continue
            }
            let name = PosixIPCName(bytes: [UInt8(ascii: "/")] + (isSemaphore ? Array(file.dropFirst(semaphorePrefix.count)) : file))
            var entry = fileEntry(kind, info: info, name: name, files: files, names: &names)
            if isSemaphore {
                do throws(IPCError) {
                    entry.count = Int(try semaphoreValue(directory, file: file, info: info, name: name))
                } catch where error.errno == .invalidArgument {
                    entry.malformation = error.detail ?? error.description
                } catch {}  // not readable without changing its access time: value unknown
            } else {
                entry.placement = placement(directory, file: file, info: info)
                if let placed = entry.placement, placed.state == .ready, placed.version == SharedMemoryChannel.Status.placedVersion,
                   placed.type == Array(SharedMemoryChannel.Status.placedType.utf8) {
                    entry.channel = channel(directory, file: file, info: info)
                }
            }
            listing.entries.append(entry)
        }
        return listing
    }

    /// The message queues in a mounted mqueue filesystem at `path`.
    static func messageQueues(in path: String, files: ProcessFiles, names: inout UserNames) throws(IPCError) -> Listing {
        let directory = try ObjectDirectory(path)
        var listing = Listing()
        for file in try directory.names() {
            guard let info = directory.status(of: file) else { continue }
            guard isRegular(info) else {
                listing.skipped.append(skipped(.posixQueue, directory: directory, file: file, info: info))
                continue
            }
            var entry = fileEntry(.posixQueue, info: info, name: PosixIPCName(bytes: [UInt8(ascii: "/")] + file), files: files, names: &names)
            entry.bytes = nil
            entry.count = queuedMessages(directory, file: file, info: info)
            listing.entries.append(entry)
        }
        return listing
    }

    private static func isRegular(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }

    private static func skipped(_ kind: IPCInventory.Kind, directory: borrowing ObjectDirectory, file: [UInt8], info: stat) -> IPCInventory.Skipped {
        IPCInventory.Skipped(kind: kind, path: Array((directory.path + "/").utf8) + file, ownerUID: info.st_uid,
                             reason: ObjectDirectory.typeName(info.st_mode) + ", not a regular file")
    }

    /// An entry from the file's status.
    private static func fileEntry(_ kind: IPCInventory.Kind, info: stat, name: PosixIPCName, files: ProcessFiles, names: inout UserNames) -> IPCInventory.Entry {
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

    /// The messages on a queue (`mq_curmsgs`); nil when this process may not
    /// open it. Opening the queue's file and `mq_getattr` leave its times alone.
    ///
    /// The corresponding C functions are `openat`, `fstat` and `mq_getattr`.
    private static func queuedMessages(_ directory: borrowing ObjectDirectory, file: [UInt8], info: stat) -> Int? {
        guard let queue = try? directory.openRegular(file, expected: info, keepingAccessTime: false) else { return nil }
        var attributes = mq_attr()
        return system_mq_getattr(queue.rawValue, &attributes) == 0 ? Int(attributes.mq_curmsgs) : nil
    }

    /// The placement header at the start of the shared memory object in `file`,
    /// read without changing the file's access time; nil when there is none, or
    /// this process may not read it with `O_NOATIME`.
    ///
    /// The corresponding C functions are `openat`, `fstat` and `read`.
    private static func placement(_ directory: borrowing ObjectDirectory, file: [UInt8], info: stat) -> PlacedObjectSummary? {
        guard info.st_size >= PlacementHeader.size,
              let memory = try? directory.openRegular(file, expected: info, keepingAccessTime: true),
              let header = try? memory.read(upTo: PlacementHeader.size) else { return nil }
        return PlacedObjectSummary(header: header)
    }

    /// The status of the channel in `file`, read through a read-only mapping of a
    /// descriptor opened without changing the file's access time; nil when this
    /// process may not, or the memory is not a whole channel.
    ///
    /// The corresponding C functions are `openat` and `mmap` (`PROT_READ`).
    private static func channel(_ directory: borrowing ObjectDirectory, file: [UInt8], info: stat) -> SharedMemoryChannel.Status? {
        guard let memory = try? directory.openRegular(file, expected: info, keepingAccessTime: true),
              let mapping = try? MemoryMapping(memory, protection: .read, sharing: .shared, offset: 0, length: Int(info.st_size),
                                               label: "channel", keepingDescriptor: false) else { return nil }
        return SharedMemoryChannel.Status(inspecting: mapping)
    }

    /// The value of the named semaphore in `file`, read without changing the
    /// file's access time; `EINVAL` with the reason when the file is not a
    /// semaphore of this C library (`PosixSemaphoreLayout`), `EPERM` when this
    /// process may not read it with `O_NOATIME`.
    ///
    /// The corresponding C functions are `openat`, `fstat` and `read`.
    private static func semaphoreValue(_ directory: borrowing ObjectDirectory, file: [UInt8], info: stat, name: PosixIPCName) throws(IPCError) -> UInt32 {
        let object = "semaphore " + name.description
        guard info.st_size == PosixSemaphoreLayout.size else {
            // The size alone says it is not one; a file of any size is never read whole.
            throw IPCError(.invalidArgument, operation: "inspect", object: object,
                           detail: "not a semaphore: \(info.st_size) bytes; a semaphore of this C library has \(PosixSemaphoreLayout.size)")
        }
        let semaphore = try directory.openRegular(file, expected: info, keepingAccessTime: true)
        return try PosixSemaphoreLayout.validate(try semaphore.read(upTo: PosixSemaphoreLayout.size + 1), object: object, operation: "inspect")
    }
}
