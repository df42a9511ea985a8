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
        let out = try Pipe(), err = try Pipe()
        var spawn = Spawn(path, arguments: arguments)
        spawn.inherit(out.writer.descriptor, as: 1)
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
        return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self), timedOut, child.pid)
    }
}
