import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension DoorCommand {
    /// The failure of an `--exec` command, as the caller sees it (EREMOTEIO and
    /// this text): its stderr on one line, or its status when it wrote nothing.
    struct ShellFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `command` with /bin/sh -c, `input` on its stdin; returns its stdout.
    /// Its three standard streams are anonymous memory files (memfd), not pipes:
    /// a command that writes much before reading, or much to both outputs, cannot
    /// deadlock with this thread.
    static func runShell(_ command: String, input: [UInt8]) throws -> [UInt8] {
        let stdin = try PosixSharedMemory.anonymous(size: 0, label: "ipc-door-stdin")
        let stdout = try PosixSharedMemory.anonymous(size: 0, label: "ipc-door-stdout")
        let stderr = try PosixSharedMemory.anonymous(size: 0, label: "ipc-door-stderr")
        try writeAll(input, to: stdin.descriptor.rawValue)
        var shell = ShellCommand(command)
        try shell.spawn.inherit(stdin.descriptor, as: 0)
        try shell.spawn.inherit(stdout.descriptor, as: 1)
        try shell.spawn.inherit(stderr.descriptor, as: 2)
        let status = try shell.run()
        guard status == .exited(0) else {
            let text = String(decoding: try readAll(stderr.descriptor.rawValue), as: UTF8.self)
            let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters() }.filter { !$0.isEmpty }
            throw ShellFailure(description: lines.isEmpty ? "\(command): \(status)" : lines.joined(separator: "; "))
        }
        return try readAll(stdout.descriptor.rawValue)
    }

    /// Writes `bytes` at offset 0 with `pwrite`, leaving the file offset at 0 for the reader.
    private static func writeAll(_ bytes: [UInt8], to fd: CInt) throws(IPCError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IPCError(Errno(rawValue: errno), operation: "pwrite", object: "the command's stdin")
            }
            done += n
        }
    }

    /// The whole file, read with `pread` from offset 0.
    private static func readAll(_ fd: CInt) throws(IPCError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(bytes.count)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IPCError(Errno(rawValue: errno), operation: "pread", object: "the command's output")
            }
            if n == 0 { return bytes }
            bytes += chunk[..<n]
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
