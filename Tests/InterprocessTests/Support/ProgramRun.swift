import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What a program run to completion printed and how it ended.
struct ProgramRun {
    var status: ChildStatus
    /// Its stdout, raw bytes (empty when it went to a file).
    var output: [UInt8]
    var stderr: String
    /// It outlived its timeout and was killed.
    var timedOut: Bool
    var pid: pid_t
    var stdout: String { String(decoding: output, as: UTF8.self) }
}

/// Runs `spawn` to completion with stdin read from the file `stdinFile` (e.g.
/// /dev/zero; none when nil) and stdout written to the file `stdoutFile` (e.g.
/// /dev/full) or captured when nil; stderr is captured. A run that outlives
/// `timeout` is killed and reported as `timedOut`.
func runToCompletion(_ spawn: Spawn, stdinFile: String? = nil, stdoutFile: String? = nil, timeout: Duration) throws -> ProgramRun {
    let out = try Pipe(), err = try Pipe()
    var spawn = spawn
    if let stdinFile {
        try spawn.inherit(OwnedDescriptor(adopting: try FileDescriptor.open(stdinFile, .readOnly, options: .closeOnExec)), as: 0)
    }
    if let stdoutFile {
        try spawn.inherit(OwnedDescriptor(adopting: try FileDescriptor.open(stdoutFile, .writeOnly, options: .closeOnExec)), as: 1)
    } else {
        try spawn.inherit(out.writer.descriptor, as: 1)
    }
    try spawn.inherit(err.writer.descriptor, as: 2)
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
    return ProgramRun(status: status, output: stdout, stderr: String(decoding: stderr, as: UTF8.self),
                      timedOut: timedOut, pid: child.pid)
}
