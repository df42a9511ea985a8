#if canImport(Glibc)
import Glibc
#endif

// Reading and writing on any owned descriptor, in the three forms every blocking
// call has: blocking, time-bounded (a `Deadline`) and async. EINTR is retried;
// EAGAIN on a non-blocking descriptor is an `IPCError` whose `isWouldBlock` is
// true, or `nil` from the `try…` forms.

extension OwnedDescriptor {
    // MARK: blocking

    /// Reads up to `buffer.count` bytes; returns 0 at end of file.
    ///
    /// The corresponding C function is `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        let n = retryingInterrupts { system_read(rawValue, buffer.baseAddress, buffer.count) }
        if n < 0 { throw IPCError.last("read", fd: rawValue) }
        return n
    }

    /// Writes up to `buffer.count` bytes and returns how many were written; a
    /// short count is a partial write (SPEC S2).
    ///
    /// The corresponding C function is `write`.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int {
        let n = retryingInterrupts { system_write(rawValue, buffer.baseAddress, buffer.count) }
        if n < 0 { throw IPCError.last("write", fd: rawValue) }
        return n
    }

    /// Reads until `buffer` is full or end of file; returns the bytes read (less
    /// than `buffer.count` only at end of file).
    public func read(exactly buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes every byte of `buffer`, continuing after partial writes.
    public func write(all buffer: UnsafeRawBufferPointer) throws(IPCError) {
        var done = 0
        while done < buffer.count {
            done += try write(UnsafeRawBufferPointer(rebasing: buffer[done...]))
        }
    }

    /// Reads up to `maxCount` bytes into a new array; empty at end of file.
    public func read(upTo maxCount: Int) throws(IPCError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxCount)
        let n = try withRawBuffer(&bytes) { (b) throws(IPCError) in try read(into: b) }
        bytes.removeSubrange(n...)
        return bytes
    }

    /// Reads until end of file.
    public func readToEnd(chunk: Int = 65536) throws(IPCError) -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let part = try read(upTo: chunk)
            if part.isEmpty { return all }
            all += part
        }
    }

    /// Writes every byte of `bytes`.
    public func write<Bytes: Sequence<UInt8>>(all bytes: Bytes) throws(IPCError) {
        var array = Array(bytes)
        try withRawBuffer(&array) { (b) throws(IPCError) in try write(all: UnsafeRawBufferPointer(b)) }
    }

    // MARK: non-blocking

    /// Reads what is available now: the count, 0 at end of file, or nil when the
    /// read would block. The descriptor must be non-blocking (`setNonBlocking`).
    public func tryRead(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
        do { return try read(into: buffer) } catch where error.isWouldBlock { return nil }
    }

    /// Writes what fits now: the count (possibly partial), or nil when nothing
    /// could be written. The descriptor must be non-blocking.
    public func tryWrite(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int? {
        do { return try write(buffer) } catch where error.isWouldBlock { return nil }
    }

    // MARK: time-bounded

    /// Reads up to `buffer.count` bytes, waiting at most until `deadline` for data.
    /// Throws `ETIMEDOUT` when nothing arrived in time.
    public func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(IPCError) -> Int {
        while true {
            guard try waitForReadiness(rawValue, .readable, until: deadline) else {
                throw IPCError(.timedOut, operation: "read", object: IPCError.describe(fd: rawValue))
            }
            // Another reader may have taken the data: then wait again.
            if let n = try nonBlockingRead(into: buffer) { return n }
        }
    }

    /// `read(…until:)` with a deadline `timeout` from now.
    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int {
        try read(into: buffer, until: .after(timeout))
    }

    /// Writes every byte of `buffer`, waiting at most until `deadline` for room.
    /// Throws `ETIMEDOUT` with the count written so far in the detail.
    public func write(all buffer: UnsafeRawBufferPointer, until deadline: Deadline) throws(IPCError) {
        var done = 0
        while done < buffer.count {
            guard try waitForReadiness(rawValue, .writable, until: deadline) else {
                throw IPCError(.timedOut, operation: "write", object: IPCError.describe(fd: rawValue),
                               detail: "\(done) of \(buffer.count) bytes written")
            }
            if let n = try nonBlockingWrite(UnsafeRawBufferPointer(rebasing: buffer[done...])) { done += n }
        }
    }

    /// `write(…until:)` with a deadline `timeout` from now.
    public func write(all buffer: UnsafeRawBufferPointer, timeout: Duration) throws(IPCError) {
        try write(all: buffer, until: .after(timeout))
    }

    // MARK: async

    /// Reads up to `buffer.count` bytes, suspending (not blocking a thread) until
    /// data or end of file arrives. Throws `CancellationError` promptly when the
    /// task is cancelled.
    public func readAsync(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        while true {
            try await waitAsync(for: .readable)
            if let n = try nonBlockingRead(into: buffer) { return n }
        }
    }

    /// Reads up to `maxCount` bytes into a new array, suspending until data or end
    /// of file (empty array) arrives.
    public func readAsync(upTo maxCount: Int) async throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxCount)
        while true {
            try await waitAsync(for: .readable)
            let n = try withRawBuffer(&bytes) { (b) throws(IPCError) in try nonBlockingRead(into: b) }
            if let n {
                bytes.removeSubrange(n...)
                return bytes
            }
        }
    }

    /// Writes every byte of `bytes`, suspending while there is no room.
    public func writeAsync(all bytes: [UInt8]) async throws {
        var done = 0
        while done < bytes.count {
            try await waitAsync(for: .writable)
            var rest = Array(bytes[done...])
            let n = try withRawBuffer(&rest) { (b) throws(IPCError) in try nonBlockingWrite(UnsafeRawBufferPointer(b)) }
            done += n ?? 0
        }
    }

    // MARK: after readiness

    /// One read that cannot block even on a blocking descriptor when used after
    /// readiness: sockets take `MSG_DONTWAIT`; other descriptors are read only when
    /// `ppoll` says so, and a race with another reader is reported as nil.
    func nonBlockingRead(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
        let n = retryingInterrupts { system_recv(rawValue, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT)) }
        if n >= 0 { return n }
        switch lastErrno {
        case EAGAIN: return nil
        case ENOTSOCK:
            guard isReady(rawValue, .readable) else { return nil }
            // A non-blocking descriptor may still say EAGAIN if another reader won.
            return try tryRead(into: buffer)
        default: throw IPCError.last("read", fd: rawValue)
        }
    }

    func nonBlockingWrite(_ buffer: UnsafeRawBufferPointer) throws(IPCError) -> Int? {
        let n = retryingInterrupts { system_send(rawValue, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        if n >= 0 { return n }
        switch lastErrno {
        case EAGAIN: return nil
        case ENOTSOCK:
            guard isReady(rawValue, .writable) else { return nil }
            // A pipe that reported room takes at least PIPE_BUF bytes without
            // blocking; write no more than that so a blocking pipe cannot stall us.
            let chunk = UnsafeRawBufferPointer(rebasing: buffer.prefix(Int(PIPE_BUF)))
            return try tryWrite(chunk)
        default: throw IPCError.last("write", fd: rawValue)
        }
    }
}

/// `Array.withUnsafeMutableBytes` with a typed error.
func withRawBuffer<R>(_ bytes: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(IPCError) -> R) throws(IPCError) -> R {
    let result: Result<R, IPCError> = bytes.withUnsafeMutableBytes { raw in
        do throws(IPCError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
