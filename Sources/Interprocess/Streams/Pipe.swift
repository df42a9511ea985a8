import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// An anonymous pipe: a one-way byte stream from `writer` to `reader` (SPEC S1).
///
/// ```swift
/// var pipe = try Pipe()
/// try pipe.writer.write(atomically: Array("hello".utf8))
/// let bytes = try pipe.reader.read(upTo: 64)
/// ```
///
/// - The reader sees end of file once every copy of the write end is closed.
/// - Writing with no reader left throws `EPIPE`; it never kills the process.
/// - Writes of at most `Pipe.atomicWriteLimit` (PIPE_BUF) bytes are never
///   interleaved with other writers' data; `write(atomically:)` refuses larger ones.
@frozen
public struct Pipe: ~Copyable {
    public var reader: PipeReader
    public var writer: PipeWriter

    /// Creates a pipe; both ends are close-on-exec.
    /// The corresponding C function is `pipe2` with `O_CLOEXEC`.
    public init(nonBlocking: Bool = false) throws(IPCError) {
        LibrarySignals.ignoreBrokenPipe()
        var fds: (CInt, CInt) = (-1, -1)
        let flags = O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
        let rc = withUnsafeMutableBytes(of: &fds) { system_pipe2($0.baseAddress!.assumingMemoryBound(to: CInt.self), flags) }
        if rc != 0 { throw IPCError.last("pipe2") }
        reader = PipeReader(OwnedDescriptor(adoptingRaw: fds.0))
        writer = PipeWriter(OwnedDescriptor(adoptingRaw: fds.1))
    }

    /// PIPE_BUF: the largest write the kernel keeps in one piece (4096 on Linux).
    public static let atomicWriteLimit = Int(PIPE_BUF)
}

/// The read end of a pipe or FIFO.
@frozen
public struct PipeReader: ~Copyable, ByteStreamReader {
    /// The descriptor, for flags, polling or handing to a child.
    public let descriptor: OwnedDescriptor

    /// Reads from `descriptor`, which it owns from now on: the read end of a pipe or
    /// FIFO, or any descriptor open for reading (a file, a terminal, a socket).
    public init(adopting descriptor: consuming OwnedDescriptor) { self.descriptor = descriptor }

    /// `init(adopting:)`, as the library's own pipes and FIFOs call it.
    init(_ descriptor: consuming OwnedDescriptor) { self.init(adopting: descriptor) }

    /// Reads up to `buffer.count` bytes; 0 at end of file (every writer closed).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        try descriptor.read(into: buffer)
    }

    /// Reads up to `maxCount` bytes; empty at end of file.
    public func read(upTo maxCount: Int) throws(IPCError) -> [UInt8] { try descriptor.read(upTo: maxCount) }

    /// Reads until end of file.
    public func readToEnd() throws(IPCError) -> [UInt8] { try descriptor.readToEnd() }

    /// Reads what is there now; nil when the read would block (non-blocking mode).
    public func tryRead(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
        try descriptor.tryRead(into: buffer)
    }

    /// Reads, waiting at most until `deadline`; throws `ETIMEDOUT` when nothing came.
    public func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(IPCError) -> Int {
        try descriptor.read(into: buffer, until: deadline)
    }

    /// `read(…until:)` with a deadline `timeout` from now.
    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int {
        try read(into: buffer, until: .after(timeout))
    }

    /// Reads without blocking a thread; cancellable.
    public func readAsync(upTo maxCount: Int) async throws -> [UInt8] { try await descriptor.readAsync(upTo: maxCount) }

    /// Reads until end of file without blocking a thread; cancellable.
    public func readToEndAsync() async throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let part = try await descriptor.readAsync(upTo: 65536)
            if part.isEmpty { return all }
            all += part
        }
    }

    /// Turns non-blocking mode on or off, keeping the other status flags (SPEC S2).
    public func setNonBlocking(_ enabled: Bool) throws(IPCError) { try descriptor.setNonBlocking(enabled) }

    /// Closes this end, reporting errors.
    public consuming func close() throws(IPCError) { try descriptor.close() }
}

/// The write end of a pipe or FIFO.
@frozen
public struct PipeWriter: ~Copyable, ByteStreamWriter {
    /// The descriptor, for flags, polling or handing to a child.
    public let descriptor: OwnedDescriptor

    /// Writes to `descriptor`, which it owns from now on: the write end of a pipe or
    /// FIFO, or any descriptor open for writing (a file, a terminal, a socket).
    public init(adopting descriptor: consuming OwnedDescriptor) { self.descriptor = descriptor }

    /// `init(adopting:)`, as the library's own pipes and FIFOs call it.
    init(_ descriptor: consuming OwnedDescriptor) { self.init(adopting: descriptor) }

    /// Writes up to `buffer.count` bytes; returns the count, which is short after a
    /// partial write (non-blocking mode, or a signal mid-write) — SPEC S2.
    /// Throws `EPIPE` when no reader is left.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int {
        try descriptor.write(buffer)
    }

    /// Writes every byte, continuing after partial writes.
    public func write(all buffer: UnsafeRawBufferPointer) throws(IPCError) {
        try descriptor.write(all: buffer)
    }

    public func write(all bytes: [UInt8]) throws(IPCError) { try descriptor.write(all: bytes) }

    /// Writes `bytes` as one atomic write: all of it, in one piece that no other
    /// writer's data can split. Throws `EMSGSIZE` when `bytes` is larger than
    /// PIPE_BUF, before anything is written. In non-blocking mode, throws a
    /// would-block error (`isWouldBlock`) when the whole message does not fit now.
    public func write(atomically buffer: UnsafeRawBufferPointer) throws(IPCError) {
        guard buffer.count <= Pipe.atomicWriteLimit else {
            throw IPCError(.messageTooLong, operation: "write", object: IPCError.describe(fd: descriptor.rawValue),
                           detail: "\(buffer.count) bytes is more than PIPE_BUF (\(Pipe.atomicWriteLimit)), the most a pipe writes atomically")
        }
        let n = try descriptor.write(buffer)
        // POSIX makes a pipe write of at most PIPE_BUF bytes all or nothing. A
        // descriptor that is not a pipe (a socket, a file) may take less: finish
        // the message rather than leave half of it in the stream.
        if n < buffer.count { try descriptor.write(all: UnsafeRawBufferPointer(rebasing: buffer[n...])) }
    }

    /// Writes `buffer` as one atomic write (see `write(atomically:)`), waiting at
    /// most until `deadline` for room for all of it; throws `ETIMEDOUT` with
    /// nothing written when there was none in time. Works in blocking and
    /// non-blocking mode.
    public func write(atomically buffer: UnsafeRawBufferPointer, until deadline: Deadline) throws(IPCError) {
        guard buffer.count <= Pipe.atomicWriteLimit else {
            throw IPCError(.messageTooLong, operation: "write", object: IPCError.describe(fd: descriptor.rawValue),
                           detail: "\(buffer.count) bytes is more than PIPE_BUF (\(Pipe.atomicWriteLimit)), the most a pipe writes atomically")
        }
        while true {
            guard try waitForReadiness(descriptor.rawValue, .writable, until: deadline) else {
                throw IPCError(.timedOut, operation: "write", object: IPCError.describe(fd: descriptor.rawValue),
                               detail: "no room for \(buffer.count) bytes in time; nothing written")
            }
            // Writable means a free page, which takes a PIPE_BUF write whole; another
            // writer may have taken it first, which a non-blocking write reports.
            if let n = try descriptor.nonBlockingWrite(buffer) {
                if n < buffer.count { try descriptor.write(all: UnsafeRawBufferPointer(rebasing: buffer[n...])) }
                return
            }
        }
    }

    /// `write(…until:)` with a deadline `timeout` from now.
    public func write(atomically buffer: UnsafeRawBufferPointer, timeout: Duration) throws(IPCError) {
        try write(atomically: buffer, until: .after(timeout))
    }

    public func write(atomically bytes: [UInt8]) throws(IPCError) {
        var copy = bytes
        try withRawBuffer(&copy) { (b) throws(IPCError) in try write(atomically: UnsafeRawBufferPointer(b)) }
    }

    /// Writes what fits now: the count (maybe partial) or nil when the pipe is full
    /// (non-blocking mode).
    public func tryWrite(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int? {
        try descriptor.tryWrite(buffer)
    }

    /// Writes every byte, waiting at most until `deadline` for room.
    public func write(all buffer: UnsafeRawBufferPointer, until deadline: Deadline) throws(IPCError) {
        try descriptor.write(all: buffer, until: deadline)
    }

    /// `write(…until:)` with a deadline `timeout` from now.
    public func write(all buffer: UnsafeRawBufferPointer, timeout: Duration) throws(IPCError) {
        try write(all: buffer, until: .after(timeout))
    }

    /// Writes every byte without blocking a thread; cancellable.
    public func writeAsync(all bytes: [UInt8]) async throws { try await descriptor.writeAsync(all: bytes) }

    public func setNonBlocking(_ enabled: Bool) throws(IPCError) { try descriptor.setNonBlocking(enabled) }

    /// Closes this end; readers see end of file once every write end is closed.
    public consuming func close() throws(IPCError) { try descriptor.close() }
}
