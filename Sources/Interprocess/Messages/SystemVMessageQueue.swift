import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A System V message queue (SPEC M3, V1–V3, L3).
///
/// A queue is a kernel object named by a key (`IPCKey`) and reached through an
/// identifier. Each message carries a positive `type`, chosen by the sender, that
/// receivers select on: type 0 takes the first message, a positive type the first
/// message of that type, a negative type the first message of the lowest type up to
/// its absolute value.
///
/// ```swift
/// let queue = try SystemVMessageQueue.create(key: 0x1234)
/// try queue.send(Array("ship 3 crates".utf8), type: 3)
/// let message = try queue.receive(type: -5)     // the lowest type <= 5 first
/// try queue.remove()
/// ```
///
/// Every blocking call comes in four forms: blocking (`send`, `receive`),
/// time-bounded (`until: Deadline`, which throws `ETIMEDOUT`), non-blocking
/// (`trySend` returns false and `tryReceive` nil where the call would wait, the
/// kernel's `IPC_NOWAIT`) and `async` (which never blocks a thread of the
/// cooperative pool and throws `CancellationError` promptly). A process blocked
/// on a queue that is removed gets `EIDRM`. See `SystemVMessageQueue+Waiting.swift`
/// for how waits are bounded: a System V queue has no descriptor to poll.
///
/// A queue value holds only the identifier (and the key it was opened with):
/// there is nothing to close, and copies are free. The queue belongs to the kernel
/// and stays, with its messages, until `remove()` (SPEC V3, L3; see
/// `Sources/Interprocess/Messages/README.md`).
///
/// The corresponding C functions are `msgget`, `msgsnd`, `msgrcv` and `msgctl`.
public struct SystemVMessageQueue: SystemVObject, Hashable {
    public static var kind: SystemVKind { .messageQueue }

    /// The identifier `msgget` returned.
    public let id: Int32
    /// The key the queue was created or opened with (`.private` for
    /// `IPC_PRIVATE`); for `init(id:)`, the key the kernel reports, or nil when
    /// this process may not read the queue's status.
    public let key: IPCKey?

    /// A received message: its bytes and its type (always at least 1).
    public struct Message: Hashable, Sendable {
        public var bytes: [UInt8]
        public var type: Int

        public init(bytes: [UInt8], type: Int) {
            self.bytes = bytes
            self.type = type
        }
    }

    /// The size of the `long` type that leads every message in memory (`struct msgbuf`).
    public static let typeSize = MemoryLayout<Int>.size

    init(id: Int32, key: IPCKey?) {
        self.id = id
        self.key = key
    }

    /// How errors name the queue: `id 32768`.
    var object: String { SystemVKind.describe(id: id) }
}

// MARK: creating and opening

extension SystemVMessageQueue {
    /// Creates a new queue; `EEXIST` if `key` names a queue already
    /// (`IPC_CREAT|IPC_EXCL`). With `.private` it always creates a new queue that
    /// only processes told its `id` can reach.
    ///
    /// - Parameter permissions: read and write bits, 0600 by default (no umask
    ///   applies to System V objects).
    ///
    /// The corresponding C function is `msgget`.
    public static func create(key: IPCKey, permissions: FilePermissions = [.ownerRead, .ownerWrite]) throws(IPCError) -> SystemVMessageQueue {
        SystemVMessageQueue(id: try kind.get(key: key, creation: .create, permissions: permissions), key: key)
    }

    /// The existing queue with `key`; `ENOENT` if there is none, `EINVAL` for
    /// `.private`. Opening checks no permission: a process without read or write
    /// permission gets `EACCES` from the calls that need it.
    ///
    /// The corresponding C function is `msgget`.
    public static func open(key: IPCKey) throws(IPCError) -> SystemVMessageQueue {
        SystemVMessageQueue(id: try kind.get(key: key, creation: .open, permissions: []), key: key)
    }

    /// The queue with `key`, created with `permissions` if there is none
    /// (`IPC_CREAT`); an existing queue keeps its permissions.
    ///
    /// The corresponding C function is `msgget`.
    public static func openOrCreate(key: IPCKey, permissions: FilePermissions = [.ownerRead, .ownerWrite]) throws(IPCError) -> SystemVMessageQueue {
        SystemVMessageQueue(id: try kind.get(key: key, creation: .openOrCreate, permissions: permissions), key: key)
    }

    /// The queue with identifier `id` (handed over by another process, or listed by
    /// `ipc ls`). Checks that it exists with `IPC_STAT`: `EINVAL` when there is no
    /// such queue. A queue this process may not read (`EACCES`) exists, and is
    /// accepted with an unknown key.
    ///
    /// The corresponding C function is `msgctl` with `IPC_STAT`.
    public init(id: Int32) throws(IPCError) {
        var info = msqid_ds()
        if system_msgctl(id, IPC_STAT, &info) == 0 {
            self.init(id: id, key: IPCKey(rawValue: info.msg_perm.__key))
            return
        }
        let code = lastErrno
        if code == EACCES {
            self.init(id: id, key: nil)
            return
        }
        throw IPCError(Errno(rawValue: code), operation: "msgctl(IPC_STAT)", object: SystemVKind.describe(id: id),
                       detail: code == EINVAL ? "there is no message queue with this identifier" : nil)
    }
}

// MARK: sending

extension SystemVMessageQueue {
    /// Sends `bytes` with `type`, waiting while the queue is full. A signal does not
    /// end the wait (`EINTR` is retried).
    ///
    /// Throws `EINVAL` before the call for a type below 1 or a message longer than
    /// `kernel.msgmax`; `EIDRM` when the queue is removed while waiting, `EACCES`
    /// without write permission. A message longer than the queue's `maximumBytes`
    /// (see `status()`) waits until that is raised.
    ///
    /// The corresponding C function is `msgsnd`.
    public func send(_ bytes: [UInt8], type: Int) throws(IPCError) {
        _ = try withMessage(bytes, type: type) { (message) throws(IPCError) in
            try send(rawMessage: message, textCount: bytes.count)
            return true
        }
    }

    /// Sends `bytes` with `type` if the queue has room now; false when it is full
    /// (the kernel's `IPC_NOWAIT` and `EAGAIN`).
    ///
    /// The corresponding C function is `msgsnd` with `IPC_NOWAIT`.
    public func trySend(_ bytes: [UInt8], type: Int) throws(IPCError) -> Bool {
        try withMessage(bytes, type: type) { (message) throws(IPCError) in
            try trySend(rawMessage: message, textCount: bytes.count)
        }
    }

    /// Sends a message laid out as C's `struct msgbuf`: a `long` type (at least 1)
    /// at `message`, followed by `textCount` bytes of text. This is the call without
    /// a copy (`SystemVMessageQueue.Buffer` is its safe form); otherwise as
    /// `send(_:type:)`.
    ///
    /// The corresponding C function is `msgsnd`.
    @inline(__always)
    public func send(rawMessage message: UnsafeRawPointer, textCount: Int) throws(IPCError) {
        try checkSend(type: message.load(as: Int.self), count: textCount)
        while system_msgsnd(id, message, textCount, 0) != 0 {
            if lastErrno != EINTR { throw failure("msgsnd") }
        }
    }

    /// `trySend` for a message laid out as C's `struct msgbuf` (see
    /// `send(rawMessage:textCount:)`).
    ///
    /// The corresponding C function is `msgsnd` with `IPC_NOWAIT`.
    @inline(__always)
    public func trySend(rawMessage message: UnsafeRawPointer, textCount: Int) throws(IPCError) -> Bool {
        try checkSend(type: message.load(as: Int.self), count: textCount)
        while system_msgsnd(id, message, textCount, IPC_NOWAIT) != 0 {
            let code = lastErrno
            if code == EAGAIN { return false }
            if code != EINTR { throw failure("msgsnd", code) }
        }
        return true
    }

    /// Validates a send before the call: a type of at least 1, a size within
    /// `kernel.msgmax` (the kernel says `EINVAL` for both; we say why).
    @inline(__always)
    func checkSend(type: Int, count: Int) throws(IPCError) {
        if type < 1 {
            throw IPCError(.invalidArgument, operation: "msgsnd", object: object,
                           detail: "the message type must be at least 1, not \(type) (0 and negative types are for selecting on receive)")
        }
        if count > SystemVMessageLimits.maximumMessageSize || count < 0 {
            try checkSize(count)
        }
    }

    /// The slow path of `checkSend`: re-reads `kernel.msgmax` (it may have been
    /// raised since it was cached) before rejecting.
    func checkSize(_ count: Int) throws(IPCError) {
        let maximum = SystemVMessageLimits.refreshedMaximumMessageSize()
        if count < 0 || count > maximum {
            throw IPCError(.invalidArgument, operation: "msgsnd", object: object,
                           detail: "the message has \(count) bytes; kernel.msgmax allows at most \(maximum)")
        }
    }

    /// Lays `bytes` out after `type` in a temporary `struct msgbuf` and runs `body` on it.
    func withMessage(_ bytes: [UInt8], type: Int, _ body: (UnsafeRawPointer) throws(IPCError) -> Bool) throws(IPCError) -> Bool {
        try checkSend(type: type, count: bytes.count)
        let result: Result<Bool, IPCError> = withUnsafeTemporaryAllocation(
            byteCount: Self.typeSize + bytes.count, alignment: MemoryLayout<Int>.alignment
        ) { message in
            message.storeBytes(of: type, as: Int.self)
            bytes.withUnsafeBytes { text in
                if let base = text.baseAddress { (message.baseAddress! + Self.typeSize).copyMemory(from: base, byteCount: text.count) }
            }
            do throws(IPCError) { return .success(try body(UnsafeRawPointer(message.baseAddress!))) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

// MARK: receiving

extension SystemVMessageQueue {
    /// Receives the first message `type` selects, waiting while there is none: 0,
    /// the first message; a positive type, the first message of that type; a
    /// negative type, the first message of the lowest type up to `-type`.
    ///
    /// - Parameters:
    ///   - maximumSize: the longest text to accept; `kernel.msgmax` (every message
    ///     fits) by default.
    ///   - truncating: if false (the default), a longer message is `E2BIG` and stays
    ///     in the queue; if true (`MSG_NOERROR`), it is cut to `maximumSize` bytes
    ///     and the rest is lost.
    ///
    /// `EIDRM` when the queue is removed while waiting, `EACCES` without read
    /// permission. A signal does not end the wait (`EINTR` is retried).
    ///
    /// The corresponding C function is `msgrcv`.
    public func receive(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false) throws(IPCError) -> Message {
        try receivingMessage(maximumSize) { (message, capacity) throws(IPCError) in
            try receive(rawMessage: message, textCapacity: capacity, type: type, truncating: truncating)
        }!
    }

    /// Receives the first message `type` selects if there is one now; nil when there
    /// is none (the kernel's `IPC_NOWAIT` and `ENOMSG`). Otherwise as
    /// `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv` with `IPC_NOWAIT`.
    public func tryReceive(type: Int = 0, maximumSize: Int? = nil, truncating: Bool = false) throws(IPCError) -> Message? {
        try receivingMessage(maximumSize) { (message, capacity) throws(IPCError) in
            try tryReceive(rawMessage: message, textCapacity: capacity, type: type, truncating: truncating)
        }
    }

    /// Receives into memory laid out as C's `struct msgbuf`: the kernel writes the
    /// message's type as a `long` at `message` and up to `textCapacity` bytes of
    /// text after it. Returns the text's length. This is the call without a copy
    /// (`SystemVMessageQueue.Buffer` is its safe form); otherwise as
    /// `receive(type:maximumSize:truncating:)`.
    ///
    /// The corresponding C function is `msgrcv`.
    @inline(__always)
    public func receive(rawMessage message: UnsafeMutableRawPointer, textCapacity: Int, type: Int = 0, truncating: Bool = false) throws(IPCError) -> Int {
        if textCapacity < 0 { throw badCapacity(textCapacity) }
        let flags = truncating ? MSG_NOERROR : 0
        while true {
            let count = system_msgrcv(id, message, textCapacity, type, flags)
            if count >= 0 { return count }
            let code = lastErrno
            if code != EINTR { throw receiveFailure(code, capacity: textCapacity) }
        }
    }

    /// `tryReceive` into memory laid out as C's `struct msgbuf` (see
    /// `receive(rawMessage:textCapacity:type:truncating:)`); nil when no message
    /// matches.
    ///
    /// The corresponding C function is `msgrcv` with `IPC_NOWAIT`.
    @inline(__always)
    public func tryReceive(rawMessage message: UnsafeMutableRawPointer, textCapacity: Int, type: Int = 0, truncating: Bool = false) throws(IPCError) -> Int? {
        if textCapacity < 0 { throw badCapacity(textCapacity) }
        let flags = IPC_NOWAIT | (truncating ? MSG_NOERROR : 0)
        while true {
            let count = system_msgrcv(id, message, textCapacity, type, flags)
            if count >= 0 { return count }
            let code = lastErrno
            if code == ENOMSG { return nil }
            if code != EINTR { throw receiveFailure(code, capacity: textCapacity) }
        }
    }

    func badCapacity(_ capacity: Int) -> IPCError {
        IPCError(.invalidArgument, operation: "msgrcv", object: object, detail: "a buffer of \(capacity) bytes (0 to \(Self.largestCapacity))")
    }

    /// The error of a failed `msgrcv`, explaining `E2BIG`.
    func receiveFailure(_ code: CInt, capacity: Int) -> IPCError {
        if code == E2BIG {
            return IPCError(.argListTooLong, operation: "msgrcv", object: object,
                            detail: "the message is longer than \(capacity) bytes; it stays in the queue (receive with truncating to cut it)")
        }
        return failure("msgrcv", code)
    }

    /// Runs `body` on a temporary `struct msgbuf` with room for `maximumSize` bytes
    /// of text and copies out the message it received. When `maximumSize` is nil
    /// the room is `kernel.msgmax`; if a message is longer (the limit was raised
    /// since it was last read), the limit is read again and the receive retried.
    func receivingMessage(
        _ maximumSize: Int?, _ body: (UnsafeMutableRawPointer, Int) throws(IPCError) -> Int?
    ) throws(IPCError) -> Message? {
        var capacity = maximumSize ?? SystemVMessageLimits.maximumMessageSize
        if capacity < 0 || capacity > Self.largestCapacity { throw badCapacity(capacity) }
        while true {
            let result: Result<Message?, IPCError> = withUnsafeTemporaryAllocation(
                byteCount: Self.typeSize + capacity, alignment: MemoryLayout<Int>.alignment
            ) { message in
                do throws(IPCError) {
                    guard let count = try body(message.baseAddress!, capacity) else { return .success(nil) }
                    let type = message.load(as: Int.self)
                    let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: message[Self.typeSize ..< Self.typeSize + count]))
                    return .success(Message(bytes: bytes, type: type))
                } catch {
                    return .failure(error)
                }
            }
            if case .failure(let error) = result, error.errno == .argListTooLong, maximumSize == nil {
                let refreshed = SystemVMessageLimits.refreshedMaximumMessageSize()
                if refreshed > capacity && refreshed <= Self.largestCapacity {
                    capacity = refreshed
                    continue
                }
            }
            return try result.get()
        }
    }

    /// The largest receive buffer: `kernel.msgmax` is a C `int`, so no message is longer.
    static let largestCapacity = Int(Int32.max)

    /// The error of the call that just failed.
    func failure(_ operation: String, _ code: CInt = lastErrno) -> IPCError {
        var detail: String?
        switch code {
        case EIDRM: detail = "the queue was removed"
        case EINVAL: detail = "there is no message queue with this identifier (removed?)"
        default: break
        }
        return IPCError(Errno(rawValue: code), operation: operation, object: object, detail: detail)
    }
}
