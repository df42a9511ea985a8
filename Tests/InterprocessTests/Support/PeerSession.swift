import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A running peer with its stdin and stdout connected to this test by pipes, for
/// hand-shakes line by line: the peer prints a line when it reached a state, the
/// test writes a line (or closes stdin) to let it go on.
final class PeerSession {
    private var child: ChildProcess
    private var input: PipeWriter?
    private let output: PipeReader
    private var pending: [UInt8] = []

    /// The peer's pid.
    var pid: pid_t { child.pid }

    /// Starts `InterprocessTestPeer COMMAND ARGUMENTS…` with its stdin and stdout
    /// on pipes to this test.
    convenience init(_ command: String, _ arguments: [String]) throws {
        try self.init(Spawn(TestPeer.path, arguments: [command] + arguments))
    }

    /// The same, with `descriptor` handed down as descriptor 3 (`fd:3`).
    convenience init(_ command: String, _ arguments: [String], handing descriptor: borrowing OwnedDescriptor) throws {
        var spawn = Spawn(TestPeer.path, arguments: [command] + arguments)
        try spawn.inherit(descriptor, as: 3)
        try self.init(spawn)
    }

    /// Starts `spawn` (any program, e.g. an example built beside the tests) with
    /// its stdin and stdout on pipes to this test.
    init(_ peer: Spawn) throws {
        let stdin = try Pipe(), stdout = try Pipe()
        var spawn = peer
        try spawn.inherit(stdin.reader.descriptor, as: 0)
        try spawn.inherit(stdout.writer.descriptor, as: 1)
        child = try spawn.start()
        let writer = stdin.writer
        input = consume writer
        output = stdout.reader
    }

    deinit {
        // A test that failed half-way must not leave the peer running.
        if child.terminationStatus == nil {
            try? child.signal(SIGKILL)
            _ = try? child.wait()
        }
    }

    /// The next line the peer prints (without its newline). Throws when the peer
    /// ends its output first or prints nothing in `timeout`.
    func line(timeout: Duration = .seconds(30)) throws -> String {
        let deadline = Deadline.after(timeout)
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let count = try buffer.withUnsafeMutableBytes { try output.read(into: $0, until: deadline) }
            if count == 0 { throw PeerSessionEnded(output: String(decoding: pending, as: UTF8.self)) }
            pending += buffer[..<count]
        }
    }

    /// Writes `line` and a newline to the peer's stdin.
    func send(_ line: String) throws {
        try input?.write(all: Array((line + "\n").utf8))
    }

    /// Closes the peer's stdin (end of file).
    func closeInput() throws {
        if let writer = input.take() { try writer.close() }
    }

    /// Sends the peer `SIGKILL` and waits until it is gone.
    func kill() throws -> ChildStatus {
        try child.signal(SIGKILL)
        return try child.wait()
    }

    /// Closes stdin and waits for the peer to exit.
    func finish(timeout: Duration = .seconds(30)) throws -> ChildStatus {
        try closeInput()
        return try waitForExit(timeout: timeout)
    }

    /// Waits for the peer to exit with its stdin left open (it ends by itself, or
    /// by a signal the test sent); kills it after `timeout` and throws.
    func waitForExit(timeout: Duration = .seconds(30)) throws -> ChildStatus {
        if try timesOut({ _ = try child.wait(timeout: timeout) }) {
            try child.signal(SIGKILL)
            _ = try child.wait()
            throw PeerSessionEnded(output: "the peer did not exit in \(timeout)")
        }
        return try child.wait()
    }
}

struct PeerSessionEnded: Error, CustomStringConvertible {
    var output: String
    var description: String { "the peer ended its output early: \(output)" }
}

/// Waits until thread `pid` of another process is blocked in system call `number`
/// (read from `/proc/PID/syscall`), so a test can act only once the peer really
/// waits. Polls; the timeout only turns a hang into a failure.
func waitUntilBlocked(pid: pid_t, inSyscall number: Int, timeout: Duration = .seconds(30)) -> Bool {
    eventually(timeout: timeout) {
        procFileText("/proc/\(pid)/syscall").split(separator: " ").first.flatMap { Int($0) } == number
    }
}

/// The system call number of `mq_timedreceive` (which `mq_receive` uses too).
#if arch(x86_64)
let mqTimedReceiveSyscall = 243
#elseif arch(arm64)
let mqTimedReceiveSyscall = 183
#endif
