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
    struct Outcome {
        var status: ChildStatus
        var output: [UInt8]
        var stderr: String
        /// The run outlived its timeout and was killed.
        var timedOut: Bool
        var pid: pid_t
        var stdout: String { String(decoding: output, as: UTF8.self) }
    }

    /// Runs `ipc ARGUMENTS…` to completion, reading its stdout and stderr; a run
    /// that outlives `timeout` is killed and reported as `timedOut`.
    static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> (status: ChildStatus, stdout: String, stderr: String, timedOut: Bool, pid: pid_t) {
        let outcome = try run(arguments, stdinFile: nil, timeout: timeout)
        return (outcome.status, outcome.stdout, outcome.stderr, outcome.timedOut, outcome.pid)
    }

    /// Runs `ipc ARGUMENTS…` with stdin read from the file `stdinFile` (e.g.
    /// /dev/zero; none when nil) and stdout written to the file `stdoutFile` (e.g.
    /// /dev/full) or captured when nil.
    ///
    /// `addressSpaceLimit` (bytes) caps the run's address space (`ulimit -v`, through
    /// /bin/sh), so a run that would buffer without bound fails at once instead of
    /// taking the machine's memory; the Swift crash reporter is off for such runs, so
    /// that failure is prompt, and malloc keeps one arena (each reserves 64 MiB), so
    /// the address space an idle `ipc` takes does not depend on its threads. A run that outlives `timeout` is killed (`timedOut`).
    static func run(
        _ arguments: [String], stdinFile: String?, stdoutFile: String? = nil, addressSpaceLimit: Int? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> Outcome {
        let out = try Pipe(), err = try Pipe()
        var spawn = Spawn(path, arguments: arguments)
        if let addressSpaceLimit {
            spawn = Spawn("/bin/sh", arguments: ["-c", "ulimit -v \(addressSpaceLimit / 1024) && exec \"$0\" \"$@\"", path] + arguments)
            spawn.environment = .inheritUpdating(["SWIFT_BACKTRACE": "enable=no", "MALLOC_ARENA_MAX": "1"])
        }
        let input = try stdinFile.map { try FileDescriptor.open($0, .readOnly, options: .closeOnExec) }
        defer { try? input?.close() }
        let output = try stdoutFile.map { try FileDescriptor.open($0, .writeOnly, options: .closeOnExec) }
        defer { try? output?.close() }
        if let input { spawn.inherit(input, as: 0) }
        if let output { spawn.inherit(output, as: 1) } else { spawn.inherit(out.writer.descriptor, as: 1) }
        spawn.inherit(err.writer.descriptor, as: 2)
        var child = try spawn.start()
        try out.writer.close()
        try err.writer.close()
        let deadline = Deadline.after(timeout)
        var stdout: [UInt8] = [], stderr: [UInt8] = []
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Read both until end of file; stderr is small, so reading stdout first
        // cannot stall the child.
        for reader in [out.reader.descriptor.rawValue, err.reader.descriptor.rawValue] {
            while !timedOut {
                var entry = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
                let left = deadline.remaining.components
                let ready = poll(&entry, 1, CInt(clamping: left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))
                if ready == 0 { timedOut = true; break }
                if ready < 0 { continue }
                let n = read(reader, &buffer, buffer.count)
                if n <= 0 { break }
                if reader == out.reader.descriptor.rawValue { stdout += buffer[0..<n] } else { stderr += buffer[0..<n] }
            }
        }
        if timedOut { try? child.signal(SIGKILL) }
        let status = try child.wait()
        return Outcome(status: status, output: stdout, stderr: String(decoding: stderr, as: UTF8.self), timedOut: timedOut, pid: child.pid)
    }
}
