import Interprocess

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

    /// Runs `ipc ARGUMENTS…` to completion, reading its stdout and stderr; a run
    /// that outlives `timeout` is killed and reported as `timedOut`.
    static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> (status: ChildStatus, stdout: String, stderr: String, timedOut: Bool, pid: pid_t) {
        let run = try runToCompletion(Spawn(path, arguments: arguments), timeout: timeout)
        return (run.status, run.stdout, run.stderr, run.timedOut, run.pid)
    }
}
