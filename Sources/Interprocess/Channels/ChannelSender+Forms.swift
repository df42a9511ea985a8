// The four forms of sending (README "The API rules"), in place and copying (SPEC M5).

extension SharedMemoryChannel.Sender {
    /// Claims room for a message of `count` bytes in the ring, calls `body` to
    /// write it in place, and commits it when `body` returns. When the ring is
    /// full it follows the channel's `FullPolicy`: `block` (the default) spins
    /// briefly, then sleeps on a futex until the receiver makes room; `fail`
    /// throws `EAGAIN`; `drop` counts the message dropped (`body` writes into a
    /// scratch buffer).
    /// The span lies in the shared memory and cannot outlive the call; when `body`
    /// throws, nothing is sent.
    ///
    /// ```swift
    /// try sender.send(count: 16) { span in span.storeBytes(of: sequence, toByteOffset: 0, as: UInt64.self) }
    /// ```
    ///
    /// Throws `EMSGSIZE` for `count` above `maximumMessageSize`, `EPIPE` when the
    /// receiver died while this end waited, `EPROTO` when the receiver's index in
    /// the memory is invalid, and what `body` throws.
    @inlinable
    public mutating func send<R>(count: Int, _ body: (inout MutableRawSpan) throws -> R) throws -> R {
        try send(count, until: .distantFuture, "SharedMemoryChannel.send", body)!
    }

    /// `send(count:_:)` without waiting: nil (and `body` not called) when the ring
    /// has no room now.
    @inlinable
    public mutating func trySend<R>(count: Int, _ body: (inout MutableRawSpan) throws -> R) throws -> R? {
        try send(count, until: nil, "SharedMemoryChannel.trySend", body)
    }

    /// `send(count:_:)` waiting at most until `deadline`: `ETIMEDOUT` then.
    @inlinable
    public mutating func send<R>(count: Int, until deadline: Deadline, _ body: (inout MutableRawSpan) throws -> R) throws -> R {
        try send(count, until: deadline, "SharedMemoryChannel.send", body)!
    }

    /// `send(count:until:_:)` with a deadline `timeout` from now.
    @inlinable
    public mutating func send<R>(count: Int, timeout: Duration, _ body: (inout MutableRawSpan) throws -> R) throws -> R {
        try send(count, until: .after(timeout), "SharedMemoryChannel.send", body)!
    }

    /// The async form of `send(count:_:)`: while the ring is full the task is
    /// suspended and the sleep runs on the library's waiting engine; throws
    /// `CancellationError` promptly when the task is cancelled (nothing sent),
    /// `ETIMEDOUT` at `deadline`.
    @inlinable
    public mutating func sendAsync<R>(count: Int, until deadline: Deadline = .distantFuture,
                                      _ body: (inout MutableRawSpan) throws -> R) async throws -> R {
        let operation = "SharedMemoryChannel.sendAsync"
        while true {
            if let result = try send(count, until: nil, operation, body) { return result }
            if try await waitForRoomAsync(until: deadline, operation) {
                var span = unsafe MutableRawSpan(_unsafeBytes: dropped(count))
                return try body(&span)
            }
        }
    }

    /// Sends a copy of `bytes` (see `send(count:_:)`).
    public mutating func send(_ bytes: [UInt8]) throws(IPCError) {
        try copy(bytes, until: .distantFuture, "SharedMemoryChannel.send")
    }

    /// Sends a copy of `bytes` if the ring has room now; false when it has not.
    public mutating func trySend(_ bytes: [UInt8]) throws(IPCError) -> Bool {
        try copy(bytes, until: nil, "SharedMemoryChannel.trySend")
    }

    /// Sends a copy of `bytes`, waiting for room at most until `deadline`
    /// (`ETIMEDOUT`).
    public mutating func send(_ bytes: [UInt8], until deadline: Deadline) throws(IPCError) {
        try copy(bytes, until: deadline, "SharedMemoryChannel.send")
    }

    /// `send(_:until:)` with a deadline `timeout` from now.
    public mutating func send(_ bytes: [UInt8], timeout: Duration) throws(IPCError) {
        try copy(bytes, until: .after(timeout), "SharedMemoryChannel.send")
    }

    /// The async form of `send(_:)`; `CancellationError` when the task is cancelled
    /// while it waits for room (nothing sent).
    public mutating func sendAsync(_ bytes: [UInt8], until deadline: Deadline = .distantFuture) async throws {
        try await sendAsync(count: bytes.count, until: deadline) { span in
            bytes.withUnsafeBytes { source in span.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
        }
    }

    @discardableResult
    private mutating func copy(_ bytes: [UInt8], until deadline: Deadline?, _ operation: String) throws(IPCError) -> Bool {
        do {
            return try send(bytes.count, until: deadline, operation) { span in
                bytes.withUnsafeBytes { source in span.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
            } != nil
        } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.invalidArgument, operation: operation, detail: "\(error)")  // not reached: the copy throws nothing
        }
    }
}
