#if canImport(Glibc)
import Glibc
#endif

// Byte-stream I/O (SPEC S3, S7): `read` returns what is there, `write` may be
// partial, `read(exactly:)`/`write(all:)` loop. Writes use `send` with
// `MSG_NOSIGNAL`, so a closed peer is `EPIPE`, never `SIGPIPE`.
//
// On seqpacket and datagram sockets `read` is `receive`: one whole message, and
// `EMSGSIZE` when it does not fit — never a silently truncated message.

extension UnixSocket: ByteStreamReader, ByteStreamWriter {
    /// Reads up to `buffer.count` bytes; 0 at end of file (the peer closed or shut
    /// down writing).
    ///
    /// The corresponding C function is `recv`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        guard kind == .stream else { return try receive(into: buffer) }
        let n = retryingInterrupts { system_recv(descriptor.rawValue, buffer.baseAddress, buffer.count, 0) }
        if n < 0 { throw IPCError.last("recv", fd: descriptor.rawValue) }
        return n
    }

    /// Reads up to `maxCount` bytes into a new array; empty at end of file.
    public func read(upTo maxCount: Int) throws(IPCError) -> [UInt8] {
        try receiving(upTo: maxCount) { (raw) throws(IPCError) in try read(into: raw) }
    }

    /// Reads until `buffer` is full or end of file; returns the count (less than
    /// `buffer.count` only at end of file).
    public func read(exactly buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes; fewer only at end of file.
    public func read(exactly count: Int) throws(IPCError) -> [UInt8] {
        try receiving(upTo: count) { (raw) throws(IPCError) in try read(exactly: raw) }
    }

    /// Reads what is there now: the count, 0 at end of file, nil when nothing is.
    public func tryRead(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
        guard kind == .stream else { return try tryReceive(into: buffer) }
        let n = retryingInterrupts { system_recv(descriptor.rawValue, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT)) }
        if n >= 0 { return n }
        if lastErrno == EAGAIN { return nil }
        throw IPCError.last("recv", fd: descriptor.rawValue)
    }

    /// Reads, waiting at most until `deadline` for data (`ETIMEDOUT`).
    public func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(IPCError) -> Int {
        try descriptor.retry(.readable, until: deadline, operation: "recv") { () throws(IPCError) in try tryRead(into: buffer) }
    }

    /// `read(…until:)` with a deadline `timeout` from now.
    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int {
        try read(into: buffer, until: .after(timeout))
    }

    /// Reads, suspending (not blocking a thread) until data or end of file arrives;
    /// `CancellationError` when the task is cancelled.
    public func readAsync(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        try await descriptor.retry(.readable) { () throws(IPCError) in try tryRead(into: buffer) }
    }

    /// Reads up to `maxCount` bytes, suspending until data or end of file arrives.
    public func readAsync(upTo maxCount: Int) async throws -> [UInt8] {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(maxCount, 1), alignment: 16)
        defer { scratch.deallocate() }
        let count = try await readAsync(into: UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(maxCount)))
        return Array(scratch.prefix(count))
    }

    /// Writes up to `buffer.count` bytes and returns how many were written (a
    /// stream may take fewer). `EPIPE` when the peer is gone.
    ///
    /// The corresponding C function is `send` with `MSG_NOSIGNAL`.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int {
        try sendOnce(buffer, descriptors: [], to: nil, dontWait: false) ?? 0
    }

    /// Writes every byte of `buffer`, continuing after partial writes.
    public func write(all buffer: UnsafeRawBufferPointer) throws(IPCError) {
        try sendAll(buffer, descriptors: [], to: nil, until: nil)
    }

    /// Writes every byte of `bytes`.
    public func write(all bytes: [UInt8]) throws(IPCError) {
        try withRawBytes(bytes) { (raw) throws(IPCError) in try write(all: raw) }
    }

    /// Writes what fits now: the count (maybe partial), nil when nothing fits.
    public func tryWrite(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int? {
        try sendOnce(buffer, descriptors: [], to: nil, dontWait: true)
    }

    /// Writes every byte, waiting at most until `deadline` for room (`ETIMEDOUT`).
    public func write(all buffer: UnsafeRawBufferPointer, until deadline: Deadline) throws(IPCError) {
        try sendAll(buffer, descriptors: [], to: nil, until: deadline)
    }

    /// `write(…until:)` with a deadline `timeout` from now.
    public func write(all buffer: UnsafeRawBufferPointer, timeout: Duration) throws(IPCError) {
        try write(all: buffer, until: .after(timeout))
    }

    /// Writes every byte, suspending (not blocking a thread) while there is no room.
    public func writeAsync(all bytes: [UInt8]) async throws {
        try await sendAsync(bytes)
    }
}
