import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// stdin and stdout of every `ipc` command: stdin is read in bounded amounts (never
/// more than the command can use, plus one byte to tell that there was more), and
/// every write to stdout is checked, so a full disk or a closed pipe is an error
/// (`write(stdout): no space left on device (ENOSPC)`), never a silent loss.
enum StandardStreams {
    /// How much a command that streams reads or writes at a time (1 MiB): the most
    /// it holds in memory.
    static let chunkSize = 1 << 20
}

/// Reads stdin until `buffer` is full or at end of file; returns the count read
/// (less than `buffer.count` only at end of file). `EINTR` is retried.
func readStandardInput(filling buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
    var done = 0
    while done < buffer.count {
        let n: Int
        do {
            n = try FileDescriptor.standardInput.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
        } catch {
            throw IPCError((error as? Errno) ?? .ioError, operation: "read", object: "stdin")
        }
        if n == 0 { break }
        done += n
    }
    return done
}

/// Reads stdin to its end, which must come within `maximum` bytes: reads at most
/// `maximum + 1` bytes (never more, whatever stdin holds), and fails with exit
/// status 1 — "stdin has more than N bytes; `limit`" — when there was more.
func readStandardInput(atMost maximum: Int, limit: @autoclosure () -> String) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: min(StandardStreams.chunkSize, maximum + 1))
    while bytes.count <= maximum {
        let wanted = min(chunk.count, maximum + 1 - bytes.count)
        let n = try chunk.withUnsafeMutableBytes { (buffer) in
            try readStandardInput(filling: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]))
        }
        bytes += chunk[..<n]
        if n < wanted { return bytes }
    }
    throw fail("stdin has more than \(maximum) bytes; \(limit())", .failed)
}

/// Writes every byte to stdout, continuing after partial writes; `EINTR` is retried.
func writeStandardOutput(_ bytes: UnsafeRawBufferPointer) throws(IPCError) {
    do {
        try FileDescriptor.standardOutput.writeAll(bytes)
    } catch {
        throw IPCError((error as? Errno) ?? .ioError, operation: "write", object: "stdout")
    }
}

/// Writes every byte to stdout (see the other `writeStandardOutput`).
func writeStandardOutput(_ bytes: [UInt8]) throws(IPCError) {
    let outcome = bytes.withUnsafeBytes { buffer in Result { () throws(IPCError) in try writeStandardOutput(buffer) } }
    try outcome.get()
}

/// Writes `text` and a newline to stdout, checked (where `print` would lose a
/// failure: stdio's buffer is flushed at exit, and its errors are not reported).
func printResult(_ text: String) throws(IPCError) {
    try writeStandardOutput(Array((text + "\n").utf8))
}

/// Prints the result of a command that created an object (its identifier, or a
/// line describing it), checked. The object exists whatever happens to stdout, so
/// a failed write fails with exit status 1 naming what was created — `created
/// queue id 32768, but write(stdout): broken pipe (EPIPE)` — never silently: SIGPIPE
/// is ignored first, so a closed pipe is that error, not the end of the process.
func printCreated(_ result: String, created: @autoclosure () -> String) throws {
    signal(SIGPIPE, SIG_IGN)
    do throws(IPCError) { try printResult(result) } catch { throw fail("\(created()), but \(error)", .failed) }
}
