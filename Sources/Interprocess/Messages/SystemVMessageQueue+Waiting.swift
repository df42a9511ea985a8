#if canImport(Glibc)
import Glibc
#endif

// The time-bounded and async forms (SPEC M3; DESIGN, API principle 3).
//
// A System V queue has no descriptor, so it cannot be polled and there is no timed
// msgsnd/msgrcv. A bounded wait therefore makes a blocking call that can be
// stopped: `BlockingCall.run` runs it (async: on a thread of the library's own,
// never a thread of the cooperative pool; time-bounded: on the calling thread with
// a watchdog), and stopping it sends the blocked thread SIGURG through
// `InterruptibleThread`, which makes msgsnd/msgrcv return EINTR (they are never
// restarted). Any other EINTR is retried.
//
// If the program has its own SIGURG handler (`InterruptibleThread.signalsWork` is
// false), the wait polls instead: IPC_NOWAIT attempts with pauses growing from
// 0.1 ms to 10 ms, checking the deadline and the stop flag between them. A message
// then waits up to 10 ms longer to be noticed.
//
// First, every form makes one IPC_NOWAIT attempt, so a call that need not wait
// starts no thread.

/// What one attempt of a send or receive gave.
enum SystemVMessageAttempt<Value: Sendable>: Sendable {
    case done(Value)
    /// Would block (IPC_NOWAIT), or was interrupted: try again.
    case again
    case failed(IPCError)
}

/// How a bounded wait ended.
enum SystemVMessageWait<Value: Sendable>: Sendable {
    case done(Value)
    /// Stopped by the watchdog or the cancellation, or (polling) the deadline passed.
    case stopped
    case failed(IPCError)
}

extension SystemVMessageQueue {
    /// The longest pause between two polls when signals cannot interrupt.
    static let fallbackSlice: UInt64 = 10_000_000

    // MARK: time-bounded

    /// Sends `bytes` with `type`, waiting at most until `deadline` for room; throws
    /// `ETIMEDOUT` when the queue stayed full.
    ///
    /// The corresponding C function is `msgsnd` (interrupted by a signal at the deadline).
    public func send(_ bytes: [UInt8], type: Int, until deadline: Deadline) throws(IPCError) {
        try send(bytes, type: type, until: deadline, interrupts: InterruptibleThread.signalsWork)
    }

    func send(_ bytes: [UInt8], type: Int, until deadline: Deadline, interrupts: Bool) throws(IPCError) {
        if deadline == .distantFuture { return try send(bytes, type: type) }
        if try trySend(bytes, type: type) { return }
        let outcome = try waitBounded(until: deadline, interrupts: interrupts) { wait in
            sendAttempt(bytes, type: type, wait: wait)
        }
        switch outcome {
        case .done: return
        case .stopped: throw timeout("msgsnd", "the queue stayed full until the deadline")
        case .failed(let error): throw error
        }
    }

    /// Receives the first message `type` selects, waiting at most until `deadline`;
    /// throws `ETIMEDOUT` when none arrived. Otherwise as
    /// `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv` (interrupted by a signal at the deadline).
    public func receive(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false, until deadline: Deadline) throws(IPCError) -> Message {
        try receive(type: type, maximumSize: maximumSize, truncating: truncating, until: deadline, interrupts: InterruptibleThread.signalsWork)
    }

    func receive(type: Int, maximumSize: Int?, truncating: Bool, until deadline: Deadline, interrupts: Bool) throws(IPCError) -> Message {
        if deadline == .distantFuture { return try receive(type: type, maximumSize: maximumSize, truncating: truncating) }
        if let message = try tryReceive(type: type, maximumSize: maximumSize, truncating: truncating) { return message }
        let outcome = try waitBounded(until: deadline, interrupts: interrupts) { wait in
            receiveAttempt(type: type, maximumSize: maximumSize, truncating: truncating, wait: wait)
        }
        switch outcome {
        case .done(let message): return message
        case .stopped: throw timeout("msgrcv", "no message of type \(type) arrived before the deadline")
        case .failed(let error): throw error
        }
    }

    /// Runs `attempt` on this thread until it succeeds, fails, or `deadline` passes.
    private func waitBounded<Value: Sendable>(
        until deadline: Deadline, interrupts: Bool, _ attempt: (Bool) -> SystemVMessageAttempt<Value>
    ) throws(IPCError) -> SystemVMessageWait<Value> {
        if deadline.hasPassed { return .stopped }
        let thread = InterruptibleThread(signalling: interrupts)
        guard interrupts else { return Self.waitLoop(thread, until: deadline, attempt) }
        return try BlockingCall.run(until: deadline) {
            thread.enter()
            defer { thread.leave() }
            return Self.waitLoop(thread, until: deadline, attempt)
        } interrupt: {
            thread.stop()
        }.value
    }

    // MARK: async

    /// Sends `bytes` with `type`, suspending while the queue is full, without
    /// blocking a thread of the cooperative pool. Throws `CancellationError`
    /// promptly when the task is cancelled (nothing is sent then).
    ///
    /// The corresponding C function is `msgsnd`, on a thread of the library's own.
    public func send(_ bytes: [UInt8], type: Int) async throws {
        try await send(bytes, type: type, interrupts: InterruptibleThread.signalsWork)
    }

    func send(_ bytes: [UInt8], type: Int, interrupts: Bool) async throws {
        try Task.checkCancellation()
        if try trySend(bytes, type: type) { return }
        let outcome = try await waitAsync(interrupts: interrupts) { wait in
            sendAttempt(bytes, type: type, wait: wait)
        }
        switch outcome {
        case .done: return
        case .stopped: throw CancellationError()
        case .failed(let error): throw error
        }
    }

    /// Receives the first message `type` selects, suspending while there is none,
    /// without blocking a thread of the cooperative pool. Throws `CancellationError`
    /// promptly when the task is cancelled; a message received as the cancellation
    /// came is returned, not lost. Otherwise as `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv`, on a thread of the library's own.
    public func receive(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false) async throws -> Message {
        try await receive(type: type, maximumSize: maximumSize, truncating: truncating, interrupts: InterruptibleThread.signalsWork)
    }

    func receive(type: Int, maximumSize: Int?, truncating: Bool, interrupts: Bool) async throws -> Message {
        try Task.checkCancellation()
        if let message = try tryReceive(type: type, maximumSize: maximumSize, truncating: truncating) { return message }
        let outcome = try await waitAsync(interrupts: interrupts) { wait in
            receiveAttempt(type: type, maximumSize: maximumSize, truncating: truncating, wait: wait)
        }
        switch outcome {
        case .done(let message): return message
        case .stopped: throw CancellationError()
        case .failed(let error): throw error
        }
    }

    /// Runs `attempt` on a thread of the library's own until it succeeds or fails,
    /// or the task is cancelled.
    private func waitAsync<Value: Sendable>(
        interrupts: Bool, _ attempt: @escaping @Sendable (Bool) -> SystemVMessageAttempt<Value>
    ) async throws(IPCError) -> SystemVMessageWait<Value> {
        let thread = InterruptibleThread(signalling: interrupts)
        return try await BlockingCall.run {
            thread.enter()
            defer { thread.leave() }
            return Self.waitLoop(thread, until: .distantFuture, attempt)
        } interrupt: {
            thread.stop()
        }.value
    }

    // MARK: the waiting thread

    /// Makes attempts until one succeeds or fails, or the thread is stopped: blocking
    /// ones when a signal can interrupt them, otherwise `IPC_NOWAIT` polls with
    /// growing pauses until `deadline`.
    static func waitLoop<Value: Sendable>(
        _ thread: InterruptibleThread, until deadline: Deadline, _ attempt: (Bool) -> SystemVMessageAttempt<Value>
    ) -> SystemVMessageWait<Value> {
        var pause: UInt64 = 100_000
        while true {
            if thread.isStopped { return .stopped }
            switch attempt(thread.signalling) {
            case .done(let value): return .done(value)
            case .failed(let error): return .failed(error)
            case .again:
                if thread.signalling { continue }
                let now = Deadline.now.nanoseconds
                if now >= deadline.nanoseconds { return .stopped }
                let nap = min(pause, deadline.nanoseconds - now)
                var interval = timespec(tv_sec: Int(nap / 1_000_000_000), tv_nsec: Int(nap % 1_000_000_000))
                nanosleep(&interval, nil)
                pause = min(pause * 2, fallbackSlice)
            }
        }
    }

    /// One `msgsnd`: blocking when `wait`, else `IPC_NOWAIT`.
    func sendAttempt(_ bytes: [UInt8], type: Int, wait: Bool) -> SystemVMessageAttempt<Void> {
        do throws(IPCError) {
            let sent = try withMessage(bytes, type: type) { (message) throws(IPCError) in
                if system_msgsnd(id, message, bytes.count, wait ? 0 : IPC_NOWAIT) == 0 { return true }
                let code = Glibc.errno
                if code == EAGAIN || code == EINTR { return false }
                throw failure("msgsnd", code)
            }
            return sent ? .done(()) : .again
        } catch {
            return .failed(error)
        }
    }

    /// One `msgrcv`: blocking when `wait`, else `IPC_NOWAIT`.
    func receiveAttempt(type: Int, maximumSize: Int?, truncating: Bool, wait: Bool) -> SystemVMessageAttempt<Message> {
        let flags = (wait ? 0 : IPC_NOWAIT) | (truncating ? MSG_NOERROR : 0)
        do throws(IPCError) {
            let message = try receivingMessage(maximumSize) { (message, capacity) throws(IPCError) -> Int? in
                let count = system_msgrcv(id, message, capacity, type, flags)
                if count >= 0 { return count }
                let code = Glibc.errno
                if code == ENOMSG || code == EINTR { return nil }
                throw receiveFailure(code, capacity: capacity)
            }
            return message.map { .done($0) } ?? .again
        } catch {
            return .failed(error)
        }
    }

    func timeout(_ operation: String, _ detail: String) -> IPCError {
        IPCError(.timedOut, operation: operation, object: object, detail: detail)
    }
}
