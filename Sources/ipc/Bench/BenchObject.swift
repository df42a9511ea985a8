import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A kernel object `ipc bench` made on the host, as its ledger records it (one
/// line each: `path /tmp/ipc-bench-…`, `mq /ipc-bench-…`, `msg 32768`, `sem 5`).
enum BenchObject: Equatable, Sendable {
    /// A FIFO or socket file.
    case path(String)
    /// A POSIX message queue.
    case posixQueue(String)
    /// A private System V message queue, semaphore set or shared memory segment.
    case systemV(SystemVKind, Int32)

    var ledgerLine: String {
        switch self {
        case .path(let path): "path \(path)"
        case .posixQueue(let name): "mq \(name)"
        case .systemV(let kind, let id): "\(kind.rawValue) \(id)"
        }
    }

    /// Parses a line of the ledger of bench process `pid`. Names must be the
    /// names that process makes (`ipc-bench-PID-…`), so a ledger can never name
    /// anything else.
    init?(ledgerLine line: Substring, pid: pid_t) {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let tag = line[..<space], value = String(line[line.index(after: space)...])
        switch tag {
        case "path" where value.hasPrefix("/tmp/\(BenchLedger.prefix(pid))") && !value.contains("/.."):
            self = .path(value)
        case "mq" where value.hasPrefix("/\(BenchLedger.prefix(pid))") && value.dropFirst().firstIndex(of: "/") == nil:
            self = .posixQueue(value)
        case "msg", "sem", "shm":
            guard let id = Int32(value), id >= 0, let kind = SystemVKind(rawValue: String(tag)) else { return nil }
            self = .systemV(kind, id)
        default:
            return nil
        }
    }

    /// Removes the object; one that is already gone is not an error.
    func remove() {
        switch self {
        case .path(let path):
            // Only a file of this user: a name taken by someone else stays theirs.
            var info = stat()
            if lstat(path, &info) == 0 && info.st_uid == geteuid() { _ = unlink(path) }
        case .posixQueue(let name): try? PosixMessageQueue.unlink(name)
        case .systemV(let kind, let id): try? kind.remove(id: id)
        }
    }
}
