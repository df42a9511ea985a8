// The four forms of receiving (README "The API rules"), in place and copying (SPEC M5).

extension SharedMemoryChannel.Receiver {
    /// Calls `body` with the next message, in place in the ring, and releases it
    /// when `body` returns (or throws). Waits while the ring is empty: spins
    /// briefly, then sleeps on a futex until the sender commits. The span lies in
    /// the shared memory and cannot outlive the call.
    ///
    /// ```swift
    /// let sum = try receiver.receive { span in span.withUnsafeBytes { $0.reduce(0, &+) } }
    /// ```
    ///
    /// Throws `EPIPE` when the sender died (or exited) while this end waited on an
    /// empty ring, `EPROTO`/`EBADMSG` when what the sender published is invalid,
    /// and what `body` throws.
    @inlinable
    public mutating func receive<R>(_ body: (RawSpan) throws -> R) throws -> R {
        try receive(until: .distantFuture, "SharedMemoryChannel.receive", body)!
    }

    /// `receive(_:)` without waiting: nil (and `body` not called) when the ring is
    /// empty now.
    @inlinable
    public mutating func tryReceive<R>(_ body: (RawSpan) throws -> R) throws -> R? {
        try receive(until: nil, "SharedMemoryChannel.tryReceive", body)
    }

    /// `receive(_:)` waiting at most until `deadline`: `ETIMEDOUT` then.
    @inlinable
    public mutating func receive<R>(until deadline: Deadline, _ body: (RawSpan) throws -> R) throws -> R {
        try receive(until: deadline, "SharedMemoryChannel.receive", body)!
    }

    /// `receive(until:_:)` with a deadline `timeout` from now.
    @inlinable
    public mutating func receive<R>(timeout: Duration, _ body: (RawSpan) throws -> R) throws -> R {
        try receive(until: .after(timeout), "SharedMemoryChannel.receive", body)!
    }

    /// The async form of `receive(_:)`: while the ring is empty the task is
    /// suspended and the sleep runs on the library's waiting engine; throws
    /// `CancellationError` promptly when the task is cancelled (nothing received),
    /// `ETIMEDOUT` at `deadline`.
    @inlinable
    public mutating func receiveAsync<R>(until deadline: Deadline = .distantFuture, _ body: (RawSpan) throws -> R) async throws -> R {
        while true {
            if let result = try receive(until: nil, "SharedMemoryChannel.receiveAsync", body) { return result }
            try await waitForMessageAsync(until: deadline)
        }
    }

    /// Like `receive(until:_:)` — `deadline` nil: do not wait, nil returned on an
    /// empty channel — except that a message whose `body` throws is kept: not
    /// released, it comes again at the next receive. For a consumer that must not
    /// lose a message it failed to handle (`ipc channel recv` when stdout fails).
    @inlinable
    public mutating func receiveKeepingOnFailure<R>(until deadline: Deadline?, _ body: (RawSpan) throws -> R) throws -> R? {
        try receive(until: deadline, "SharedMemoryChannel.receive", keepingOnFailure: true, body)
    }

    /// Receives a copy of the next message (see `receive(_:)`).
    public mutating func receive() throws(IPCError) -> [UInt8] {
        try copy(until: .distantFuture, "SharedMemoryChannel.receive")!
    }

    /// A copy of the next message, or nil when the ring is empty now.
    public mutating func tryReceive() throws(IPCError) -> [UInt8]? {
        try copy(until: nil, "SharedMemoryChannel.tryReceive")
    }

    /// A copy of the next message, waiting at most until `deadline` (`ETIMEDOUT`).
    public mutating func receive(until deadline: Deadline) throws(IPCError) -> [UInt8] {
        try copy(until: deadline, "SharedMemoryChannel.receive")!
    }

    /// `receive(until:)` with a deadline `timeout` from now.
    public mutating func receive(timeout: Duration) throws(IPCError) -> [UInt8] {
        try copy(until: .after(timeout), "SharedMemoryChannel.receive")!
    }

    /// The async form of `receive()`; `CancellationError` when the task is
    /// cancelled while it waits (nothing received).
    public mutating func receiveAsync(until deadline: Deadline = .distantFuture) async throws -> [UInt8] {
        try await receiveAsync(until: deadline) { span in span.withUnsafeBytes { Array($0) } }
    }

    private mutating func copy(until deadline: Deadline?, _ operation: String) throws(IPCError) -> [UInt8]? {
        do {
            return try receive(until: deadline, operation) { span in span.withUnsafeBytes { Array($0) } }
        } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.invalidArgument, operation: operation, detail: "\(error)")  // not reached: the copy throws nothing
        }
    }
}
