import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension IPCTool {
    /// Runs `ipc ARGUMENTS…` with its stdout on the file at `stdoutPath` (such as
    /// `/dev/full`, where every write fails); returns its status and stderr.
    static func run(_ arguments: [String], stdoutPath: String) throws -> (status: ChildStatus, stderr: String) {
        let output = OwnedDescriptor(adopting: try FileDescriptor.open(stdoutPath, .writeOnly, options: [.closeOnExec]))
        let err = try Pipe()
        var spawn = Spawn(path, arguments: arguments)
        try spawn.inherit(output, as: 1)
        try spawn.inherit(err.writer.descriptor, as: 2)
        var child = try spawn.start()
        try err.writer.close()
        let stderr = try err.reader.readToEnd()
        return (try child.wait(), String(decoding: stderr, as: UTF8.self))
    }
}
