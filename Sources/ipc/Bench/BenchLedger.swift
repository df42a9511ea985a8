import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Every kernel object the bench parent has made and not yet removed, kept in
/// memory and in the file `/tmp/ipc-bench-PID.ledger`, so that nothing outlives
/// the bench however it ends:
///
/// - after each run, and on SIGINT/SIGTERM/SIGHUP/SIGQUIT, `removeAll` removes them;
/// - after SIGKILL, the next `ipc bench` finds the ledger of a process that no
///   longer exists and removes what it names (`reclaimStale`).
///
/// Names are recorded before the object is made, identifiers (System V, private)
/// right after, both under the lock that `seal` takes for good: once the bench is
/// being torn down, nothing new can be made. Most objects do not even wait for
/// that: a FIFO, socket file or queue name is unlinked as soon as both sides have
/// it open (the kernel frees the object with the last descriptor), a System V
/// segment is marked for removal once attached.
final class BenchLedger: @unchecked Sendable {
    static let directory = "/tmp"

    /// `ipc-bench-PID-`: how every name of bench process `pid` begins.
    static func prefix(_ pid: pid_t) -> String { "ipc-bench-\(pid)-" }

    static func path(for pid: pid_t) -> String { "\(directory)/ipc-bench-\(pid).ledger" }

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var objects: [BenchObject] = []
    private let file: CInt
    let path: String

    /// Creates this process's ledger file (replacing a stale one of a dead
    /// process that had the same pid).
    init() throws(IPCError) {
        path = Self.path(for: getpid())
        _ = unlink(path)
        file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if file < 0 { throw IPCError(Errno(rawValue: errno), operation: "open", object: path) }
        pthread_mutex_init(lock, nil)
    }

    /// Makes an object whose name is known beforehand: recorded, then made.
    func make<T: ~Copyable>(_ object: BenchObject, _ body: () throws(IPCError) -> T) throws(IPCError) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        record(object)
        return try body()
    }

    /// Makes an object the kernel names (a private System V id): made, then recorded.
    func make<T>(_ body: () throws(IPCError) -> T, recordedAs object: (T) -> BenchObject) throws(IPCError) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let value = try body()
        record(object(value))
        return value
    }

    /// Removes every recorded object (after a run; also after a failed one).
    func removeAll() {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        removeRecorded()
    }

    /// Removes every recorded object and the ledger file, and keeps the lock for
    /// good: the process is about to end, and nothing may be made after this.
    func seal() {
        pthread_mutex_lock(lock)
        removeRecorded()
        _ = unlink(path)
    }

    /// At the end of a bench: removes what is left and the ledger file.
    func close() {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        removeRecorded()
        _ = unlink(path)
        _ = Glibc.close(file)
    }

    // Lock held.
    private func record(_ object: BenchObject) {
        objects.append(object)
        var line = Array((object.ledgerLine + "\n").utf8)
        _ = Glibc.write(file, &line, line.count)
    }

    // Lock held.
    private func removeRecorded() {
        for object in objects { object.remove() }
        objects = []
        _ = ftruncate(file, 0)
    }
}

extension BenchLedger {
    /// Removes what benches that no longer run left behind (they were killed with
    /// SIGKILL): each ledger `/tmp/ipc-bench-PID.ledger` of a PID that no longer
    /// exists, owned by this user, and what it names. A System V object is removed
    /// only if it is still private and was created by this user.
    static func reclaimStale() {
        guard let dir = opendir(directory) else { return }
        var stale: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("ipc-bench-"), name.hasSuffix(".ledger"),
                  let pid = pid_t(name.dropFirst("ipc-bench-".count).dropLast(".ledger".count)), pid > 0, pid != getpid()
            else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { stale.append(pid) }
        }
        closedir(dir)
        guard !stale.isEmpty else { return }
        let mine = IPCInventory.snapshot(kinds: [.systemVQueue, .systemVSemaphoreSet, .systemVSharedMemory], owner: geteuid()).entries
        for pid in stale {
            guard let objects = objects(inLedgerOf: pid) else { continue }
            for object in objects {
                if case .systemV(let kind, let id) = object,
                   !mine.contains(where: { $0.kind == IPCInventory.Kind(kind) && $0.id == id && $0.key?.isPrivate == true && $0.creatorUID == geteuid() }) {
                    continue
                }
                object.remove()
            }
            _ = unlink(path(for: pid))
        }
    }

    /// The objects the ledger of `pid` names; nil unless it is a regular file of
    /// this user (someone else's is left alone).
    private static func objects(inLedgerOf pid: pid_t) -> [BenchObject]? {
        let fd = open(path(for: pid), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_size < 1 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return [] }
        return String(decoding: bytes[..<count], as: UTF8.self).split(separator: "\n").compactMap { BenchObject(ledgerLine: $0, pid: pid) }
    }
}
