import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The `ipc` executable, built beside the test bundle like the peer.
enum IPCTool {
    static let path: String = {
        let peer = TestPeer.path
        guard let slash = peer.lastIndex(of: "/") else { return "ipc" }
        return String(peer[..<slash]) + "/ipc"
    }()

    /// What a run of `ipc` did: its status, its stdout (raw bytes) and stderr.
    typealias Outcome = ProgramRun

    /// Runs `ipc ARGUMENTS…` to completion, reading its stdout and stderr; a run
    /// that outlives `timeout` is killed and reported as `timedOut`.
    static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> (status: ChildStatus, stdout: String, stderr: String, timedOut: Bool, pid: pid_t) {
        let run = try runToCompletion(Spawn(path, arguments: arguments), timeout: timeout)
        return (run.status, run.stdout, run.stderr, run.timedOut, run.pid)
    }

    /// Runs `ipc ARGUMENTS…` with stdin read from the file `stdinFile` (e.g.
    /// /dev/zero; none when nil) and stdout written to the file `stdoutFile` (e.g.
    /// /dev/full) or captured when nil.
    ///
    /// `addressSpaceLimit` (bytes) caps the run's address space (`ulimit -v`, through
    /// /bin/sh), so a run that would buffer without bound fails at once instead of
    /// taking the machine's memory; the Swift crash reporter is off for such runs, so
    /// that failure is prompt, and malloc keeps one arena (each reserves 64 MiB), so
    /// the address space an idle `ipc` takes does not depend on its threads. A run
    /// that outlives `timeout` is killed (`timedOut`).
    static func run(
        _ arguments: [String], stdinFile: String?, stdoutFile: String? = nil, addressSpaceLimit: Int? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> Outcome {
        var spawn = Spawn(path, arguments: arguments)
        if let addressSpaceLimit {
            spawn = Spawn("/bin/sh", arguments: ["-c", "ulimit -v \(addressSpaceLimit / 1024) && exec \"$0\" \"$@\"", path] + arguments)
            spawn.environment = .inheritUpdating(["SWIFT_BACKTRACE": "enable=no", "MALLOC_ARENA_MAX": "1"])
        }
        return try runToCompletion(spawn, stdinFile: stdinFile, stdoutFile: stdoutFile, timeout: timeout)
    }
}
