#if canImport(Glibc)
import Glibc
#endif

/// A process told apart from every later process that reuses its pid: the pid, the
/// time it started (clock ticks after boot, field 22 of `/proc/PID/stat`) and the
/// inode of its PID namespace (`/proc/self/ns/pid`), in which the pid means
/// something.
///
/// Written into shared memory by one process and judged by another, so the values
/// read back may be anything: `liveness` only ever answers, never traps.
struct ProcessIdentity: Equatable, Sendable {
    var pid: pid_t
    /// Clock ticks after boot; 0 when unknown.
    var startTime: UInt64
    /// The PID namespace's inode; 0 when unknown.
    var pidNamespace: UInt64

    /// This process. The corresponding C function is `getpid`; the start time
    /// and namespace come from `/proc/self/stat` and `/proc/self/ns/pid` (0 where
    /// /proc cannot be read).
    static var current: ProcessIdentity {
        let pid = getpid()
        let start = (try? ProcessStatLine.read(pid: pid))?.startTime ?? 0
        return ProcessIdentity(pid: pid, startTime: start, pidNamespace: currentPidNamespace)
    }

    static var currentPidNamespace: UInt64 {
        var status = stat()
        if system_fstatat(AT_FDCWD, "/proc/self/ns/pid", &status, 0) != 0 { return 0 }
        return UInt64(status.st_ino)
    }

    /// Whether the process is still there, as this process can tell.
    enum Liveness: Equatable, Sendable {
        /// Running (or stopped): it may still finish what it does.
        case running
        /// Exited, killed, a zombie, or its pid now belongs to a later process.
        case gone
        /// This process cannot tell: another PID namespace, or /proc unreadable.
        case unknown(String)
    }

    /// Whether this process is still running. A zombie (`Z`, `X`) is gone: it will
    /// never finish anything. A different start time means the pid was reused.
    var liveness: Liveness {
        if pid <= 0 { return .gone }
        if pidNamespace != 0, pidNamespace != Self.currentPidNamespace {
            return .unknown("pid \(pid) belongs to another PID namespace")
        }
        let line: ProcessStatLine
        do { line = try ProcessStatLine.read(pid: pid) } catch {
            if error.errno == .noSuchFileOrDirectory || error.errno == .noSuchProcess { return .gone }
            return .unknown("\(error)")
        }
        if line.state == UInt8(ascii: "Z") || line.state == UInt8(ascii: "X") { return .gone }
        if startTime != 0, line.startTime != startTime { return .gone }
        return .running
    }
}

/// The fields of `/proc/PID/stat` the library uses. The command name (field 2,
/// in parentheses) may hold spaces and parentheses, so fields are counted after
/// the last `)`.
struct ProcessStatLine {
    /// Field 3: R, S, D, Z, T, X…
    var state: UInt8
    /// Field 22: clock ticks after boot.
    var startTime: UInt64

    static func read(pid: pid_t) throws(IPCError) -> ProcessStatLine {
        let path = "/proc/\(pid)/stat"
        let fd = system_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { throw IPCError.last("open", object: IPCError.describe(path: path)) }
        let file = OwnedDescriptor(adoptingRaw: fd)
        let text = try file.read(upTo: 4096)
        guard let line = ProcessStatLine(parsing: text) else {
            throw IPCError(.invalidArgument, operation: "read", object: IPCError.describe(path: path),
                           detail: "not a process status line")
        }
        return line
    }

    init?(parsing text: [UInt8]) {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
              let start = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        self.state = state
        self.startTime = start
    }
}
