import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// The exit statuses of every `ipc` command: one table, documented in `ipc --help`
/// and the README. A command ended by a signal exits as the shell reports it
/// (128 + the signal's number).
enum ExitStatus: Int32, CaseIterable, Sendable {
    /// Done.
    case success = 0
    /// The operation failed, or was only partly done; the error is printed on stderr.
    case failed = 1
    /// Nothing happened because it would block, timed out, or there was nothing there
    /// (an empty queue with `--nowait`, a semaphore at zero, a deadline passed).
    case notNow = 2
    /// The arguments were wrong (`EX_USAGE`); nothing was done.
    case usage = 64

    /// The table as `ipc --help`, the help of each command that can block, and the
    /// README show it.
    static let table = """
        Exit status (the same for every command):
          0    done
          1    failed, or only partly done (what was done and what failed are printed)
          2    would block, timed out, or nothing there (--nowait, --timeout)
          64   usage error: the arguments were wrong and nothing was done
          128+N  ended by signal N
        """

    /// The status for a library error: a timeout or would-block is `notNow`.
    init(_ error: IPCError) {
        switch error.errno {
        case .timedOut, .resourceTemporarilyUnavailable: self = .notNow
        default: self = .failed
        }
    }
}

/// Prints `ipc: message` on stderr and returns the exit to throw with `status`.
func fail(_ message: String, _ status: ExitStatus) -> ExitCode {
    warn(message)
    return ExitCode(status.rawValue)
}

/// Prints `ipc: message` on stderr (one line; control characters escaped by the caller).
func warn(_ message: String) {
    var bytes = Array(("ipc: " + message + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
