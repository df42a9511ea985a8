import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What a daemon tells its launcher through the report pipe (SPEC P3): one line
/// each, `started PID`, then `ready` or `failed ERRNO\tOPERATION\tOBJECT\tDETAIL`.
enum DaemonReport: Equatable {
    case started(pid_t)
    case ready
    case failed(IPCError)

    /// The environment variables a launcher sets for the daemon side.
    static let descriptorVariable = "IPC_DAEMON_REPORT_FD"
    static let umaskVariable = "IPC_DAEMON_UMASK"
    static let stageVariable = "IPC_DAEMON_STAGE"
    /// The first program of `.secondSpawn`, which only starts the daemon.
    static let sessionStage = "session"
    static let daemonStage = "daemon"

    var line: String {
        switch self {
        case .started(let pid): return "started \(pid)\n"
        case .ready: return "ready\n"
        case .failed(let error):
            let fields = [String(error.errno.rawValue), error.operation, error.object ?? "", error.detail ?? ""]
            return "failed " + fields.map(Self.flatten).joined(separator: "\t") + "\n"
        }
    }

    /// Tabs and newlines would break the line format.
    private static func flatten(_ field: String) -> String {
        String(field.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    init?(line: Substring) {
        if line == "ready" { self = .ready; return }
        if line.hasPrefix("started "), let pid = pid_t(line.dropFirst(8)) { self = .started(pid); return }
        guard line.hasPrefix("failed ") else { return nil }
        let fields = line.dropFirst(7).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4, let code = CInt(fields[0]) else { return nil }
        self = .failed(IPCError(Errno(rawValue: code), operation: fields[1], object: fields[2].isEmpty ? nil : fields[2],
                                detail: fields[3].isEmpty ? nil : fields[3]))
    }
}
