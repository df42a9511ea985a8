#if canImport(Glibc)
import Glibc
#endif

// The time-bounded and async forms (SPEC M3; DESIGN, API principle 3).
//
// A System V queue has no descriptor, so it cannot be polled, and msgsnd/msgrcv
// have no timeout. Every form first makes one IPC_NOWAIT attempt, so a call that
// need not wait involves nothing else. Then:
// - time-bounded: the blocking call runs on the calling thread, and the
//   `WaitingEngine`'s one timer interrupts it at the deadline (a signal that makes
//   msgsnd/msgrcv return EINTR; they are never restarted);
// - async: the blocking call runs on a worker of the engine, interrupted when the
//   task is cancelled.
// Any other EINTR is retried.

extension SystemVMessageQueue {
    // MARK: time-bounded

    /// Sends `bytes` with `type`, waiting at most until `deadline` for room; throws
    /// `ETIMEDOUT` when the queue stayed full.
    ///
    /// The corresponding C function is `msgsnd` (interrupted at the deadline).
    public func send(_ bytes: [UInt8], type: Int, until deadline: Deadline) throws(IPCError) {
        if deadline == .distantFuture { return try send(bytes, type: type) }
        if try trySend(bytes, type: type) { return }
        let sent = try WaitingEngine.waitOnCallingThread(interruptingAt: deadline) { sendAttempt(bytes, type: type) }
        guard let sent else { throw timeout("msgsnd", "the queue stayed full until the deadline") }
        try sent.get()
    }

    /// `send(…until:)` with a deadline `timeout` from now.
    public func send(_ bytes: [UInt8], type: Int, timeout: Duration) throws(IPCError) {
        try send(bytes, type: type, until: .after(timeout))
    }

    /// Receives the first message `type` selects, waiting at most until `deadline`;
    /// throws `ETIMEDOUT` when none arrived. Otherwise as
    /// `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv` (interrupted at the deadline).
    public func receive(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false, until deadline: Deadline) throws(IPCError) -> Message {
        if deadline == .distantFuture { return try receive(type: type, maximumSize: maximumSize, truncating: truncating) }
        if let message = try tryReceive(type: type, maximumSize: maximumSize, truncating: truncating) { return message }
        let received = try WaitingEngine.waitOnCallingThread(interruptingAt: deadline) {
            receiveAttempt(type: type, maximumSize: maximumSize, truncating: truncating)
        }
        guard let received else { throw timeout("msgrcv", "no message of type \(type) arrived before the deadline") }
        return try received.get()
    }

    /// `receive(…until:)` with a deadline `timeout` from now.
    public func receive(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false, timeout: Duration) throws(IPCError) -> Message {
        try receive(type: type, maximumSize: maximumSize, truncating: truncating, until: .after(timeout))
    }

    // MARK: async

    /// Sends `bytes` with `type`, suspending while the queue is full, without
    /// blocking a thread of the cooperative pool. Throws `CancellationError`
    /// promptly when the task is cancelled (nothing is sent then).
    ///
    /// The corresponding C function is `msgsnd`, on a worker of the library's own.
    public func sendAsync(_ bytes: [UInt8], type: Int) async throws {
        try Task.checkCancellation()
        if try trySend(bytes, type: type) { return }
        let queue = self
        try await WaitingEngine.wait { queue.sendAttempt(bytes, type: type) }?.get()
    }

    /// Receives the first message `type` selects, suspending while there is none,
    /// without blocking a thread of the cooperative pool. Throws `CancellationError`
    /// promptly when the task is cancelled; a message received as the cancellation
    /// came is returned, not lost. Otherwise as `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv`, on a worker of the library's own.
    public func receiveAsync(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false) async throws -> Message {
        try Task.checkCancellation()
        if let message = try tryReceive(type: type, maximumSize: maximumSize, truncating: truncating) { return message }
        let queue = self
        let received = try await WaitingEngine.wait {
            queue.receiveAttempt(type: type, maximumSize: maximumSize, truncating: truncating)
        }
        // No deadline was given to the engine: a result or a throw.
        return try received!.get()
    }

    // MARK: one blocking call

    /// One blocking `msgsnd`; nil after `EINTR`.
    func sendAttempt(_ bytes: [UInt8], type: Int) -> Result<Void, IPCError>? {
        do throws(IPCError) {
            let sent = try withMessage(bytes, type: type) { (message) throws(IPCError) in
                if system_msgsnd(id, message, bytes.count, 0) == 0 { return true }
                let code = lastErrno
                if code == EINTR { return false }
                throw failure("msgsnd", code)
            }
            return sent ? .success(()) : nil
        } catch {
            return .failure(error)
        }
    }

    /// One blocking `msgrcv`; nil after `EINTR`.
    func receiveAttempt(type: Int, maximumSize: Int?, truncating: Bool) -> Result<Message, IPCError>? {
        let flags = truncating ? MSG_NOERROR : 0
        do throws(IPCError) {
            let message = try receivingMessage(maximumSize) { (message, capacity) throws(IPCError) -> Int? in
                let count = system_msgrcv(id, message, capacity, type, flags)
                if count >= 0 { return count }
                let code = lastErrno
                if code == EINTR { return nil }
                throw receiveFailure(code, capacity: capacity)
            }
            return message.map { .success($0) }
        } catch {
            return .failure(error)
        }
    }

    func timeout(_ operation: String, _ detail: String) -> IPCError {
        IPCError(.timedOut, operation: operation, object: object, detail: detail)
    }
}
