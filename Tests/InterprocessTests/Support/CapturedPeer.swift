import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// A peer process started with its standard output captured, for tests that talk
/// to it while it runs.
struct CapturedPeer: ~Copyable {
    var child: ChildProcess
    let output: PipeReader

    init(_ spawn: Spawn) throws {
        let pipe = try Pipe()
        var spawn = spawn
        try spawn.inherit(pipe.writer.descriptor, as: 1)
        // The spawn goes with the start: its duplicate of the write end would keep
        // the output from ending.
        let started = try spawn.start()
        try pipe.writer.close()
        child = started
        output = pipe.reader
    }

    var pid: pid_t { child.pid }

    /// Waits for the peer to exit; returns its status and what it printed.
    consuming func finish() throws -> (status: ChildStatus, output: String) {
        let text = try output.readToEnd()
        let status = try child.wait()
        return (status, String(decoding: text, as: UTF8.self).trimmingCharacters(in: .newlines))
    }
}
