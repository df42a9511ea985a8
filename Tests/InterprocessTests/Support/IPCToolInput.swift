import Interprocess

#if canImport(Glibc)
import Glibc
#endif

extension IPCTool {
    /// Runs `ipc ARGUMENTS…` with `input` (at most a pipe's capacity, 64 KiB) on
    /// its stdin; returns its status and stdout, and its stderr.
    static func run(_ arguments: [String], input: [UInt8]) throws -> (status: ChildStatus, stdout: [UInt8], stderr: String) {
        let stdin = try Pipe(), out = try Pipe(), err = try Pipe()
        try stdin.writer.write(all: input)
        try stdin.writer.close()
        var spawn = Spawn(path, arguments: arguments)
        try spawn.inherit(stdin.reader.descriptor, as: 0)
        try spawn.inherit(out.writer.descriptor, as: 1)
        try spawn.inherit(err.writer.descriptor, as: 2)
        var child = try spawn.start()
        try out.writer.close()
        try err.writer.close()
        let stdout = try out.reader.readToEnd()
        let stderr = try err.reader.readToEnd()
        return (try child.wait(), stdout, String(decoding: stderr, as: UTF8.self))
    }
}
