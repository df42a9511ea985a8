import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// What happened to a child process, as `waitid`/`waitpid` report it (SPEC P2).
public enum ChildStatus: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// It called `exit` (or returned from `main`) with this status.
    case exited(Int32)
    /// A signal ended it; `coreDumped` tells whether it left a core file.
    case signalled(Int32, coreDumped: Bool)
    /// A signal stopped it (it can be continued with `SIGCONT`).
    case stopped(Int32)
    /// `SIGCONT` continued it after a stop.
    case continued

    /// Decodes a `wait`-style status word, as `system` and `pclose` return it.
    /// The corresponding C macros are `WIFEXITED`, `WEXITSTATUS`, `WIFSIGNALED`,
    /// `WTERMSIG`, `WCOREDUMP`, `WIFSTOPPED`, `WSTOPSIG` and `WIFCONTINUED`.
    public init(waitStatus status: Int32) {
        if cipc_wifexited(status) != 0 {
            self = .exited(cipc_wexitstatus(status))
        } else if cipc_wifsignaled(status) != 0 {
            self = .signalled(cipc_wtermsig(status), coreDumped: cipc_wcoredump(status) != 0)
        } else if cipc_wifstopped(status) != 0 {
            self = .stopped(cipc_wstopsig(status))
        } else {
            self = .continued
        }
    }

    /// Decodes the `si_code`/`si_status` pair that `waitid` fills in.
    init(code: Int32, status: Int32) {
        switch Int(code) {
        case CLD_EXITED: self = .exited(status)
        case CLD_KILLED: self = .signalled(status, coreDumped: false)
        case CLD_DUMPED: self = .signalled(status, coreDumped: true)
        case CLD_STOPPED, CLD_TRAPPED: self = .stopped(status)
        default: self = .continued
        }
    }

    /// True when the process is gone (exited or killed), false for stop/continue.
    public var isTermination: Bool {
        switch self {
        case .exited, .signalled: true
        case .stopped, .continued: false
        }
    }

    /// True for `exited(0)`.
    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let signal, let core): "killed by signal \(signal)" + (core ? " (core dumped)" : "")
        case .stopped(let signal): "stopped by signal \(signal)"
        case .continued: "continued"
        }
    }
}
