import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The files this process holds `RecordLock`s on, so the library never drops one
/// behind the user's back (SPEC Y8).
///
/// The kernel releases every POSIX lock a process holds on a file when the process
/// closes *any* descriptor of that file (fcntl(2)); iceoryx2 met this
/// (eclipse-iceoryx/iceoryx2#1718). The library closes descriptors of the user's
/// files in a few places of its own — the duplicate `Spawn.inherit` keeps until the
/// child is started, the duplicate a file mapping keeps — and such a close would
/// silently release the user's lock. Those places close through
/// `closeLibraryDescriptor`, which, while a `RecordLock` of the same file (same
/// device and inode) is open in this process, keeps the descriptor open and closes
/// it only when the last such `RecordLock` ends.
enum PosixLockRegistry {
    struct FileKey: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    private struct Entry {
        var locks = 0
        var deferred: [CInt] = []
    }

    private static let files = Mutex<[FileKey: Entry]>([:])

    static func key(_ fd: CInt) -> FileKey? {
        var status = stat()
        if system_fstat(fd, &status) != 0 { return nil }
        return FileKey(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// A `RecordLock` of the file behind `fd` starts; returns its key.
    static func register(_ fd: CInt) -> FileKey? {
        guard let key = key(fd) else { return nil }
        files.withSanitizedLock { $0[key, default: Entry()].locks += 1 }
        return key
    }

    /// A `RecordLock` ends (just before its descriptor is closed, which releases
    /// its locks anyway): the descriptors deferred for its file are closed when it
    /// was the last.
    static func unregister(_ key: FileKey) {
        let closing: [CInt] = files.withSanitizedLock { table in
            guard var entry = table[key] else { return [] }
            entry.locks -= 1
            if entry.locks > 0 { table[key] = entry; return [] }
            table[key] = nil
            return entry.deferred
        }
        for fd in closing { _ = system_close(fd) }
    }

    /// Closes a descriptor the library made for itself, unless a `RecordLock` of
    /// the same file is open: then the close waits for that lock's end.
    static func closeLibraryDescriptor(_ fd: CInt) {
        let deferred: Bool
        if files.withSanitizedLock({ $0.isEmpty }) {
            deferred = false
        } else if let key = key(fd) {
            deferred = files.withSanitizedLock { table in
                guard table[key] != nil else { return false }
                table[key]!.deferred.append(fd)
                return true
            }
        } else {
            deferred = false
        }
        if !deferred { _ = system_close(fd) }
    }

    /// How many descriptors of the file behind `fd` are kept open for now, for tests.
    static func deferredCount(onFileOf fd: CInt) -> Int {
        guard let key = key(fd) else { return 0 }
        return files.withSanitizedLock { $0[key]?.deferred.count ?? 0 }
    }
}
