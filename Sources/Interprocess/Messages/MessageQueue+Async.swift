#if canImport(Glibc)
import Glibc
#endif

// The async forms (SPEC M1, M2): on Linux a queue descriptor is pollable, so an
// async call waits for readiness through the library's reactor (an epoll thread of
// its own) and never blocks a thread of the cooperative pool.

extension PosixMessageQueue {
    /// Suspends until the queue has a message (`.readable`) or room (`.writable`),
    /// without blocking a thread. Throws `CancellationError` as soon as the task is
    /// cancelled.
    public func waitAsync(for readiness: Readiness) async throws {
        try Task.checkCancellation()
        if isReady(handle.raw, readiness) { return }
        try await Reactor.shared.waitAsync(handle.raw, for: readiness)
    }

    /// Receives the oldest message of the highest priority, suspending while the
    /// queue is empty. Throws `CancellationError` promptly when the task is
    /// cancelled (no message is taken then).
    public func receiveAsync() async throws -> Message {
        while true {
            try Task.checkCancellation()
            // Another receiver may take the message between readiness and the call:
            // then wait again.
            if let message = try tryReceive() { return message }
            try await waitAsync(for: .readable)
        }
    }

    /// Sends `message` with `priority`, suspending while the queue is full. Throws
    /// `CancellationError` promptly when the task is cancelled (nothing is sent then).
    public func sendAsync(_ message: [UInt8], priority: UInt32 = 0) async throws {
        try checkSend(message.count, priority, "mq_send")
        while true {
            try Task.checkCancellation()
            if try trySend(message, priority: priority) { return }
            try await waitAsync(for: .writable)
        }
    }

    /// The messages of this queue as they arrive, as an async sequence (SPEC M2).
    ///
    /// ```swift
    /// for try await message in try queue.messages() {
    ///     print(message.priority, message.bytes)
    /// }
    /// ```
    ///
    /// The sequence owns a duplicate of the descriptor (close-on-exec), so it may
    /// outlive this value. It waits on the descriptor's readiness, never on a
    /// blocked thread, never ends by itself, and throws `CancellationError` when the
    /// iterating task is cancelled. Several sequences (or other receivers) on one
    /// queue share its messages: each message goes to exactly one of them.
    ///
    /// The corresponding C calls are `fcntl(F_DUPFD_CLOEXEC)`, `epoll_wait` and
    /// `mq_timedreceive`.
    public func messages() throws(IPCError) -> Messages {
        let raw = system_fcntl(handle.raw, F_DUPFD_CLOEXEC, 0)
        if raw < 0 { throw IPCError.last("dup", object: object) }
        let copy = PosixMessageQueue(duplicate: MessageQueueHandle(raw: raw), of: self)
        return Messages(source: MessageQueueSource(queue: copy))
    }

    /// An async sequence of the messages of a queue; see `messages()`.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = Message
        public typealias Failure = any Error

        let source: MessageQueueSource

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }

        public struct AsyncIterator: AsyncIteratorProtocol {
            let source: MessageQueueSource

            /// The next message; never nil. Throws `CancellationError` when the task
            /// is cancelled.
            public mutating func next() async throws -> Message? {
                try await source.queue.receiveAsync()
            }
        }
    }
}

/// Owns the duplicate descriptor of a `Messages` sequence; closes it with the last
/// copy of the sequence.
final class MessageQueueSource: Sendable {
    let queue: PosixMessageQueue

    init(queue: consuming PosixMessageQueue) { self.queue = queue }
}
