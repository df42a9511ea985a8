#if canImport(Glibc)
import Glibc
#endif

extension SystemVMessageQueue {
    /// A reusable message buffer laid out as C's `struct msgbuf` (a `long` type,
    /// then the text), so sending and receiving through it copies nothing and
    /// allocates nothing: the fast path for a loop that moves many messages.
    ///
    /// ```swift
    /// let buffer = SystemVMessageQueue.Buffer(capacity: 4096)
    /// let count = try queue.receive(into: buffer, type: -10)
    /// handle(buffer.type, UnsafeRawBufferPointer(rebasing: buffer.text[..<count]))
    /// try queue.send(buffer, count: count, type: 7)
    /// ```
    ///
    /// It owns its memory (freed when it ends); `text` is valid while it lives.
    public struct Buffer: ~Copyable, @unchecked Sendable {
        private let storage: UnsafeMutableRawPointer
        /// How many bytes of text it holds.
        public let capacity: Int

        /// A zeroed buffer for up to `capacity` bytes of text, clamped to 0 ...
        /// `Int32.max` (`kernel.msgmax` is a C `int`, so no message is longer).
        public init(capacity: Int) {
            self.capacity = min(max(0, capacity), SystemVMessageQueue.largestCapacity)
            storage = .allocate(byteCount: SystemVMessageQueue.typeSize + self.capacity, alignment: MemoryLayout<Int>.alignment)
            storage.initializeMemory(as: UInt8.self, repeating: 0, count: SystemVMessageQueue.typeSize + self.capacity)
        }

        deinit { storage.deallocate() }

        /// The message's type: set by `receive(into:)`, written by `send`.
        public var type: Int {
            get { storage.load(as: Int.self) }
            nonmutating set { storage.storeBytes(of: newValue, as: Int.self) }
        }

        /// The text: `capacity` bytes, of which a receive fills the first `count`.
        public var text: UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: storage + SystemVMessageQueue.typeSize, count: capacity)
        }

        /// The whole `struct msgbuf`.
        var message: UnsafeMutableRawPointer { storage }
    }
}

extension SystemVMessageQueue {
    /// Sends the first `count` bytes of `buffer`'s text with `type`, waiting while the
    /// queue is full; as `send(_:type:)`. `EINVAL` if `count` exceeds the buffer.
    ///
    /// The corresponding C function is `msgsnd`.
    @inline(__always)
    public func send(_ buffer: borrowing Buffer, count: Int, type: Int) throws(IPCError) {
        try checkBuffer(buffer.capacity, count, "msgsnd")
        buffer.type = type
        try send(rawMessage: buffer.message, textCount: count)
    }

    /// Sends the first `count` bytes of `buffer`'s text with `type` if the queue has
    /// room now; false when it is full.
    ///
    /// The corresponding C function is `msgsnd` with `IPC_NOWAIT`.
    @inline(__always)
    public func trySend(_ buffer: borrowing Buffer, count: Int, type: Int) throws(IPCError) -> Bool {
        try checkBuffer(buffer.capacity, count, "msgsnd")
        buffer.type = type
        return try trySend(rawMessage: buffer.message, textCount: count)
    }

    /// Receives the first message `type` selects into `buffer` (its type goes to
    /// `buffer.type`), waiting while there is none; returns the text's length. A
    /// message longer than `buffer.capacity` is `E2BIG` and stays queued, unless
    /// `truncating`. As `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv`.
    @inline(__always)
    public func receive(into buffer: borrowing Buffer, type: Int = 0, truncating: Bool = false) throws(IPCError) -> Int {
        try receive(rawMessage: buffer.message, textCapacity: buffer.capacity, type: type, truncating: truncating)
    }

    /// Receives the first message `type` selects into `buffer` if there is one now;
    /// nil when there is none.
    ///
    /// The corresponding C function is `msgrcv` with `IPC_NOWAIT`.
    @inline(__always)
    public func tryReceive(into buffer: borrowing Buffer, type: Int = 0, truncating: Bool = false) throws(IPCError) -> Int? {
        try tryReceive(rawMessage: buffer.message, textCapacity: buffer.capacity, type: type, truncating: truncating)
    }

    @inline(__always)
    func checkBuffer(_ capacity: Int, _ count: Int, _ operation: String) throws(IPCError) {
        if count < 0 || count > capacity {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "\(count) bytes of a buffer that holds \(capacity)")
        }
    }
}
