import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// An `ipc` process started without waiting for it, so a test can signal it while
/// it runs. Its output goes to pipes, read once it has ended (keep it under a
/// pipe's 64 KiB).
final class IPCToolProcess {
    private var child: ChildProcess
    private let out: PipeReader
    private let err: PipeReader
    var pid: pid_t { child.pid }

    /// Starts `ipc ARGUMENTS…`; with `ignoring`, those signals are ignored
    /// (`SIG_IGN`) when it starts, as `nohup` or a shell's background job leaves
    /// them (`/bin/sh` traps them with `''`, then execs `ipc` in the same process).
    init(_ arguments: [String], ignoring ignored: [CInt] = []) throws {
        let out = try Pipe(), err = try Pipe()
        var spawn = Spawn(IPCTool.path, arguments: arguments)
        if !ignored.isEmpty {
            let numbers = ignored.map(String.init).joined(separator: " ")
            spawn = Spawn("/bin/sh", arguments: ["-c", "trap '' \(numbers) && exec \"$0\" \"$@\"", IPCTool.path] + arguments)
        }
        try spawn.inherit(out.writer.descriptor, as: 1)
        try spawn.inherit(err.writer.descriptor, as: 2)
        child = try spawn.start()
        try out.writer.close()
        try err.writer.close()
        self.out = out.reader
        self.err = err.reader
    }

    func signal(_ number: CInt) throws { try child.signal(number) }

    /// Waits for the end (killing the process after `timeout`: nil then) and reads its output.
    func finish(timeout: Duration = .seconds(20)) throws -> (status: ChildStatus?, stdout: String, stderr: String) {
        let timedOut = try timesOut { _ = try child.wait(timeout: timeout) }
        if timedOut {
            try? child.signal(SIGKILL)
            _ = try child.wait()
        }
        let status = timedOut ? nil : child.terminationStatus
        let stdout = try out.readToEnd(), stderr = try err.readToEnd()
        return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    deinit {
        if child.terminationStatus == nil {
            try? child.signal(SIGKILL)
            _ = try? child.wait()
        }
    }

    /// Whether some thread of process `pid` is blocked in one of `syscalls`
    /// (numbers as /proc/PID/task/TID/syscall prints them) and, with `argument`,
    /// with a first argument for which it holds.
    static func isBlocked(_ pid: pid_t, in syscalls: Set<String>, argument: ((UInt) -> Bool)? = nil) -> Bool {
        threads(of: pid).contains { tid in
            let fields = procFileText("/proc/\(pid)/task/\(tid)/syscall").split(separator: " ")
            guard let number = fields.first, syscalls.contains(String(number)) else { return false }
            guard let argument else { return true }
            guard fields.count > 1, let value = UInt(fields[1].dropFirst(2), radix: 16) else { return false }
            return argument(value)
        }
    }

    static func threads(of pid: pid_t) -> [String] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var tids: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.first?.isNumber == true { tids.append(name) }
        }
        return tids
    }

    /// The children of process `pid` (from /proc/PID/task/*/children).
    static func children(of pid: pid_t) -> [pid_t] {
        threads(of: pid).flatMap { tid in
            procFileText("/proc/\(pid)/task/\(tid)/children").split(separator: " ").compactMap { pid_t($0) }
        }
    }

    /// The address range of the mapping of `path` in process `pid`, from /proc/PID/maps.
    static func mapping(of path: String, in pid: pid_t) -> ClosedRange<UInt>? {
        let maps = wholeFile("/proc/\(pid)/maps")
        for line in maps.split(separator: "\n") where line.hasSuffix(" " + path) {
            let bounds = line.prefix { $0 != " " }.split(separator: "-").compactMap { UInt($0, radix: 16) }
            if bounds.count == 2 { return bounds[0]...bounds[1] }
        }
        return nil
    }

    /// Writes `text` to the existing file `path`; false if it could not.
    static func writeFile(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return write(fd, bytes, bytes.count) == bytes.count
    }

    /// A whole /proc file (procFileText reads only its first 4 KiB).
    static func wholeFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
