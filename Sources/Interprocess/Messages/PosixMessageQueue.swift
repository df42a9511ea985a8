import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX message queue, open in this process (SPEC M1, M2, L3).
///
/// A queue is a kernel object with a name (`/orders`) that holds up to
/// `maxMessages` messages of at most `messageSize` bytes, each with a priority.
/// `receive` always takes the oldest message of the highest priority.
///
/// ```swift
/// let queue = try PosixMessageQueue.create("/orders", maxMessages: 10, messageSize: 256)
/// try queue.send(Array("ship 3 crates".utf8), priority: 7)
/// let message = try queue.receive()          // bytes and priority 7
/// try queue.close()
/// try PosixMessageQueue.unlink("/orders")
/// ```
///
/// Every blocking call comes in four forms: blocking (`send`, `receive`),
/// time-bounded (`until: Deadline`, which throws `ETIMEDOUT`), non-blocking
/// (`trySend` returns false and `tryReceive` returns nil when they would block) and
/// `async` (which waits for the queue's descriptor to become readable or writable
/// through the library's reactor, never blocking a thread of the cooperative pool,
/// and throws `CancellationError` as soon as its task is cancelled).
///
/// Buffers are sized from the queue: `receive()` allocates `messageSize` bytes, and
/// `receive(into:)` rejects a smaller buffer with `EMSGSIZE` before the call, so a
/// message is never truncated and never lost.
///
/// Lifetime and persistence (SPEC L3): the queue has kernel persistence. It outlives
/// the process that created it and stays, with its messages, until it is removed
/// with `unlink(_:)` and the last descriptor on it is closed; after `unlink` the
/// name is free at once, while processes that have it open keep using it. The
/// descriptor (an `mqd_t`, a file descriptor on Linux) is closed by `close()`, when
/// this value ends, and at exit; it is close-on-exec, so a program started with
/// `exec` or `Spawn` does not inherit it unless it is handed over explicitly with
/// `Spawn.inherit(queue.descriptor, as:)` and adopted there with
/// `init(adopting: OwnedDescriptor(inheritedNumber:), name:)`. See
/// `Sources/Interprocess/Messages/README.md`.
///
/// The corresponding C functions are `mq_open`, `mq_close`, `mq_unlink`,
/// `mq_send`, `mq_receive`, `mq_timedsend`, `mq_timedreceive`, `mq_getattr`,
/// `mq_setattr` and `mq_notify`.
public struct PosixMessageQueue: ~Copyable, Sendable {
    /// Which directions this descriptor may be used for.
    public enum Access: Sendable, Hashable {
        /// Receive only (`O_RDONLY`).
        case readOnly
        /// Send only (`O_WRONLY`).
        case writeOnly
        /// Send and receive (`O_RDWR`).
        case readWrite

        var flags: CInt {
            switch self {
            case .readOnly: O_RDONLY
            case .writeOnly: O_WRONLY
            case .readWrite: O_RDWR
            }
        }

        init(flags: CInt) {
            switch flags & O_ACCMODE {
            case O_RDONLY: self = .readOnly
            case O_WRONLY: self = .writeOnly
            default: self = .readWrite
            }
        }
    }

    /// A received message: its bytes and its priority.
    public struct Message: Hashable, Sendable {
        public var bytes: [UInt8]
        public var priority: UInt32

        public init(bytes: [UInt8], priority: UInt32) {
            self.bytes = bytes
            self.priority = priority
        }
    }

    let handle: MessageQueueHandle
    /// The queue's name; nil for a descriptor adopted without one.
    public let name: PosixIPCName?
    /// The directions this descriptor was opened for.
    public let access: Access
    /// How many messages the queue holds at most (fixed at creation).
    public let maxMessages: Int
    /// The largest message, in bytes (fixed at creation).
    public let messageSize: Int

    private init(handle: consuming MessageQueueHandle, name: PosixIPCName?, access: Access, attributes: mq_attr) {
        self.handle = handle
        self.name = name
        self.access = access
        self.maxMessages = attributes.mq_maxmsg
        self.messageSize = attributes.mq_msgsize
    }

    /// A second owner of the same queue, over a duplicate descriptor.
    init(duplicate handle: consuming MessageQueueHandle, of original: borrowing PosixMessageQueue) {
        self.handle = handle
        self.name = original.name
        self.access = original.access
        self.maxMessages = original.maxMessages
        self.messageSize = original.messageSize
    }

    /// The queue's descriptor (an `mqd_t` is a file descriptor on Linux), for
    /// `ppoll`/`epoll` or to hand to a child with `Spawn.inherit(_:as:)`.
    public var descriptor: OwnedDescriptor { _read { yield handle.descriptor } }

    /// Priorities are `0 ..< priorityLimit` (`MQ_PRIO_MAX`, 32768 on Linux).
    public static let priorityLimit: UInt32 = {
        let value = system_sysconf(CInt(_SC_MQ_PRIO_MAX))
        return value > 0 ? UInt32(clamping: value) : UInt32(MQ_PRIO_MAX)
    }()

    /// How errors name this queue: `"/orders"`, or `fd 5` when the name is unknown.
    var object: String { name?.quoted ?? IPCError.describe(fd: handle.raw) }
}

// MARK: opening, closing, removing

extension PosixMessageQueue {
    /// Creates a new queue; fails with `EEXIST` if `name` exists (`O_CREAT|O_EXCL`).
    ///
    /// - Parameters:
    ///   - permissions: the queue's mode, 0600 by default (the umask applies).
    ///   - maxMessages: capacity; the kernel's default (`fs.mqueue.msg_default`) when nil.
    ///     An unprivileged creator may ask for at most `fs.mqueue.msg_max` (10 by default).
    ///   - messageSize: largest message in bytes; `fs.mqueue.msgsize_default` when nil,
    ///     at most `fs.mqueue.msgsize_max` (8192 by default) unless privileged.
    ///   - nonBlocking: open with `O_NONBLOCK` (see `setNonBlocking(_:)`).
    ///
    /// The queue's memory counts against the real user's `RLIMIT_MSGQUEUE`
    /// (819200 bytes by default); `EMFILE` means it cannot hold one more queue.
    /// The corresponding C function is `mq_open`.
    public static func create(
        _ name: PosixIPCName, access: Access = .readWrite, permissions: FilePermissions = [.ownerRead, .ownerWrite],
        maxMessages: Int? = nil, messageSize: Int? = nil, nonBlocking: Bool = false
    ) throws(IPCError) -> PosixMessageQueue {
        try opening(name, access: access, nonBlocking: nonBlocking, creation: O_CREAT | O_EXCL,
                    permissions: permissions, maxMessages: maxMessages, messageSize: messageSize)
    }

    /// Opens an existing queue; fails with `ENOENT` if there is none, `EACCES` if
    /// its mode does not allow `access` to this process.
    ///
    /// The corresponding C function is `mq_open`.
    public static func open(_ name: PosixIPCName, access: Access = .readWrite, nonBlocking: Bool = false) throws(IPCError) -> PosixMessageQueue {
        try opening(name, access: access, nonBlocking: nonBlocking, creation: 0,
                    permissions: [], maxMessages: nil, messageSize: nil)
    }

    /// Opens the queue, creating it first if it does not exist (`O_CREAT`). The
    /// permissions and sizes apply only when it is created: an existing queue keeps
    /// its own (read `maxMessages` and `messageSize` after opening).
    ///
    /// The corresponding C function is `mq_open`.
    public static func openOrCreate(
        _ name: PosixIPCName, access: Access = .readWrite, permissions: FilePermissions = [.ownerRead, .ownerWrite],
        maxMessages: Int? = nil, messageSize: Int? = nil, nonBlocking: Bool = false
    ) throws(IPCError) -> PosixMessageQueue {
        try opening(name, access: access, nonBlocking: nonBlocking, creation: O_CREAT,
                    permissions: permissions, maxMessages: maxMessages, messageSize: messageSize)
    }

    /// Takes ownership of a queue descriptor, for example one this process was
    /// handed as descriptor 3 by `Spawn.inherit`:
    /// `PosixMessageQueue(adopting: try OwnedDescriptor(inheritedNumber: 3))`. Fails
    /// with `EBADF` if `descriptor` is not a message queue (a pipe, a file…); the
    /// descriptor is closed then too, since it is owned from the start. `name` is
    /// used in error messages only.
    ///
    /// The corresponding C function is `mq_getattr`.
    public init(adopting descriptor: consuming OwnedDescriptor, name: PosixIPCName? = nil) throws(IPCError) {
        let handle = MessageQueueHandle(descriptor)
        let raw = handle.raw
        let validName = name
        try validName?.validate(for: .messageQueue)
        let object = validName?.quoted ?? IPCError.describe(fd: raw)
        var attributes = mq_attr()
        if system_mq_getattr(raw, &attributes) != 0 {
            throw IPCError.last("mq_getattr", object: object, detail: "the descriptor is not a message queue")
        }
        let flags = system_fcntl(raw, F_GETFL)
        if flags < 0 { throw IPCError.last("fcntl(F_GETFL)", object: object) }
        self.init(handle: handle, name: validName, access: Access(flags: flags), attributes: attributes)
    }

    private static func opening(
        _ name: PosixIPCName, access: Access, nonBlocking: Bool, creation: CInt,
        permissions: FilePermissions, maxMessages: Int?, messageSize: Int?
    ) throws(IPCError) -> PosixMessageQueue {
        try name.validate(for: .messageQueue)
        var attributes = mq_attr()
        var explicitSizes = false
        if creation & O_CREAT != 0, maxMessages != nil || messageSize != nil {
            // mq_open takes both sizes or neither: fill in the one not given.
            let capacity = maxMessages ?? MessageQueueKernelLimits.value("msg_default") ?? 10
            let size = messageSize ?? MessageQueueKernelLimits.value("msgsize_default") ?? 8192
            guard capacity >= 1 else {
                throw IPCError(.invalidArgument, operation: "mq_open", object: name.quoted, detail: "maxMessages must be at least 1, not \(capacity)")
            }
            guard size >= 1 else {
                throw IPCError(.invalidArgument, operation: "mq_open", object: name.quoted, detail: "messageSize must be at least 1, not \(size)")
            }
            attributes.mq_maxmsg = capacity
            attributes.mq_msgsize = size
            explicitSizes = true
        }
        // The kernel makes every queue descriptor close-on-exec (and Linux has no flag
        // to ask otherwise), so there is no O_CLOEXEC to pass.
        let flags = access.flags | creation | (nonBlocking ? O_NONBLOCK : 0)
        let raw = name.withCString { path in
            explicitSizes
                ? system_mq_open(path, flags, permissions.rawValue, &attributes)
                : system_mq_open(path, flags, permissions.rawValue, nil)
        }
        if raw < 0 {
            let code = lastErrno
            throw IPCError(Errno(rawValue: code), operation: "mq_open", object: name.quoted,
                           detail: MessageQueueKernelLimits.explainOpenFailure(code, created: creation & O_CREAT != 0,
                                                                                 maxMessages: explicitSizes ? attributes.mq_maxmsg : nil,
                                                                                 messageSize: explicitSizes ? attributes.mq_msgsize : nil))
        }
        let handle = MessageQueueHandle(raw: raw)
        var actual = mq_attr()
        if system_mq_getattr(raw, &actual) != 0 { throw IPCError.last("mq_getattr", object: name.quoted) }
        return PosixMessageQueue(handle: handle, name: name, access: access, attributes: actual)
    }

    /// Closes the descriptor and reports a failure. The queue itself stays (see
    /// `unlink(_:)`); a notification this process registered through it is removed.
    ///
    /// The corresponding C function is `mq_close`.
    public consuming func close() throws(IPCError) {
        let object = self.object
        if handle.close() != 0 { throw IPCError.last("mq_close", object: object) }
    }

    /// Removes the queue's name. Processes that have the queue open keep using it;
    /// the kernel frees it when the last of them closes it. A new queue may be
    /// created under the name at once.
    ///
    /// The corresponding C function is `mq_unlink`.
    public static func unlink(_ name: PosixIPCName) throws(IPCError) {
        try name.validate(for: .messageQueue, operation: "mq_unlink")
        if name.withCString({ system_mq_unlink($0) }) != 0 { throw IPCError.last("mq_unlink", object: name.quoted) }
    }
}

// MARK: names given as text

extension PosixMessageQueue {
    /// `create` with the name whose bytes are the UTF-8 of `name`.
    public static func create(
        _ name: String, access: Access = .readWrite, permissions: FilePermissions = [.ownerRead, .ownerWrite],
        maxMessages: Int? = nil, messageSize: Int? = nil, nonBlocking: Bool = false
    ) throws(IPCError) -> PosixMessageQueue {
        try create(PosixIPCName(name), access: access, permissions: permissions,
                   maxMessages: maxMessages, messageSize: messageSize, nonBlocking: nonBlocking)
    }

    /// `open` with the name whose bytes are the UTF-8 of `name`.
    public static func open(_ name: String, access: Access = .readWrite, nonBlocking: Bool = false) throws(IPCError) -> PosixMessageQueue {
        try open(PosixIPCName(name), access: access, nonBlocking: nonBlocking)
    }

    /// `openOrCreate` with the name whose bytes are the UTF-8 of `name`.
    public static func openOrCreate(
        _ name: String, access: Access = .readWrite, permissions: FilePermissions = [.ownerRead, .ownerWrite],
        maxMessages: Int? = nil, messageSize: Int? = nil, nonBlocking: Bool = false
    ) throws(IPCError) -> PosixMessageQueue {
        try openOrCreate(PosixIPCName(name), access: access, permissions: permissions,
                         maxMessages: maxMessages, messageSize: messageSize, nonBlocking: nonBlocking)
    }

    /// `unlink` with the name whose bytes are the UTF-8 of `name`.
    public static func unlink(_ name: String) throws(IPCError) { try unlink(PosixIPCName(name)) }
}

// MARK: attributes

extension PosixMessageQueue {
    /// The queue's attributes now: non-blocking flag, capacity, message size and the
    /// number of messages waiting. The corresponding C function is `mq_getattr`.
    public var attributes: Attributes {
        get throws(IPCError) {
            var attributes = mq_attr()
            if system_mq_getattr(handle.raw, &attributes) != 0 { throw IPCError.last("mq_getattr", object: object) }
            return Attributes(attributes)
        }
    }

    /// Turns `O_NONBLOCK` on or off: when on, `send` on a full queue and `receive`
    /// on an empty one fail with `EAGAIN` (`isWouldBlock`) instead of waiting, and
    /// the time-bounded forms do the same.
    ///
    /// The flag belongs to the open queue description, so every descriptor sharing
    /// it (a duplicate, or one handed to a child) sees the change. The `try…` and
    /// `async` forms do not depend on it. The corresponding C function is `mq_setattr`
    /// (which changes nothing but this flag).
    public func setNonBlocking(_ enabled: Bool) throws(IPCError) {
        var attributes = mq_attr()
        attributes.mq_flags = enabled ? Int(O_NONBLOCK) : 0
        if system_mq_setattr(handle.raw, &attributes, nil) != 0 { throw IPCError.last("mq_setattr", object: object) }
    }
}

// MARK: sending

extension PosixMessageQueue {
    /// Sends `message` with `priority`, waiting while the queue is full.
    ///
    /// Throws `EINVAL` for a priority of `priorityLimit` or more and `EMSGSIZE` for a
    /// message longer than `messageSize`, both before the call; `EAGAIN` when the
    /// queue is full and in non-blocking mode. The corresponding C function is `mq_send`.
    @inline(__always)
    public func send(_ message: UnsafeRawBufferPointer, priority: UInt32 = 0) throws(IPCError) {
        try checkSend(message.count, priority, "mq_send")
        let result = retryingInterrupts { system_mq_send(handle.raw, message.baseAddress, message.count, priority) }
        if result != 0 { throw failure("mq_send") }
    }

    /// Sends `message` with `priority`, waiting while the queue is full.
    public func send(_ message: [UInt8], priority: UInt32 = 0) throws(IPCError) {
        try withMessageBytes(message) { (bytes) throws(IPCError) in try send(bytes, priority: priority) }
    }

    /// Sends `message`, waiting at most until `deadline` for room; throws
    /// `ETIMEDOUT` when the queue stayed full.
    ///
    /// The corresponding C function is `mq_timedsend`, which takes an absolute
    /// `CLOCK_REALTIME` time: the monotonic deadline is converted on each attempt, so
    /// an interrupted wait resumes with the time that is left, and a wait cut short
    /// because the wall clock was set forward resumes too. (A wall clock set back
    /// during the wait lengthens it.)
    public func send(_ message: UnsafeRawBufferPointer, priority: UInt32 = 0, until deadline: Deadline) throws(IPCError) {
        if deadline == .distantFuture { return try send(message, priority: priority) }
        try checkSend(message.count, priority, "mq_timedsend")
        while true {
            var limit = MessageQueueClock.realtime(at: deadline)
            if system_mq_timedsend(handle.raw, message.baseAddress, message.count, priority, &limit) == 0 { return }
            let code = lastErrno
            if code == EINTR || (code == ETIMEDOUT && !deadline.hasPassed) { continue }
            throw failure("mq_timedsend", code, timeoutDetail: "the queue stayed full until the deadline")
        }
    }

    /// `send(…until:)` with a deadline `timeout` from now.
    public func send(_ message: UnsafeRawBufferPointer, priority: UInt32 = 0, timeout: Duration) throws(IPCError) {
        try send(message, priority: priority, until: .after(timeout))
    }

    /// Sends `message`, waiting at most until `deadline` for room.
    public func send(_ message: [UInt8], priority: UInt32 = 0, until deadline: Deadline) throws(IPCError) {
        try withMessageBytes(message) { (bytes) throws(IPCError) in try send(bytes, priority: priority, until: deadline) }
    }

    /// `send(…until:)` with a deadline `timeout` from now.
    public func send(_ message: [UInt8], priority: UInt32 = 0, timeout: Duration) throws(IPCError) {
        try send(message, priority: priority, until: .after(timeout))
    }

    /// Sends `message` if the queue has room now; returns false when it is full.
    ///
    /// This works the same whether or not the queue is in non-blocking mode, and
    /// leaves that mode alone: it calls `mq_timedsend` with a time already past,
    /// which Linux answers at once (`ETIMEDOUT`) when it would have to wait. Changing
    /// `O_NONBLOCK` around the call instead would race every other thread and process
    /// sharing the open queue description.
    public func trySend(_ message: UnsafeRawBufferPointer, priority: UInt32 = 0) throws(IPCError) -> Bool {
        try checkSend(message.count, priority, "mq_timedsend")
        var past = timespec(tv_sec: 0, tv_nsec: 0)
        if retryingInterrupts({ system_mq_timedsend(handle.raw, message.baseAddress, message.count, priority, &past) }) == 0 {
            return true
        }
        let code = lastErrno
        if code == ETIMEDOUT || code == EAGAIN { return false }
        throw failure("mq_timedsend", code)
    }

    /// Sends `message` if the queue has room now; returns false when it is full.
    public func trySend(_ message: [UInt8], priority: UInt32 = 0) throws(IPCError) -> Bool {
        try withMessageBytes(message) { (bytes) throws(IPCError) in try trySend(bytes, priority: priority) }
    }

    @inline(__always)
    func checkSend(_ count: Int, _ priority: UInt32, _ operation: String) throws(IPCError) {
        if priority >= Self.priorityLimit {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "priority \(priority) is not below MQ_PRIO_MAX (\(Self.priorityLimit))")
        }
        if count > messageSize {
            throw IPCError(.messageTooLong, operation: operation, object: object,
                           detail: "the message has \(count) bytes; the queue's message size is \(messageSize)")
        }
    }
}

// MARK: receiving

extension PosixMessageQueue {
    /// Receives the oldest message of the highest priority into `buffer`, waiting
    /// while the queue is empty; returns its length and priority.
    ///
    /// `buffer` must hold `messageSize` bytes: a smaller one is `EMSGSIZE` (checked
    /// before the call, and the message stays in the queue). `EAGAIN` when the queue
    /// is empty and in non-blocking mode. The corresponding C function is `mq_receive`.
    @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> (count: Int, priority: UInt32) {
        try checkReceive(buffer.count, "mq_receive")
        var priority: CUnsignedInt = 0
        let count = retryingInterrupts { system_mq_receive(handle.raw, buffer.baseAddress, buffer.count, &priority) }
        if count < 0 { throw failure("mq_receive") }
        return (count, priority)
    }

    /// Receives the oldest message of the highest priority, waiting while the queue
    /// is empty, into a new buffer of `messageSize` bytes.
    public func receive() throws(IPCError) -> Message {
        try receivingMessage { (buffer) throws(IPCError) in try receive(into: buffer) }!
    }

    /// Receives a message into `buffer`, waiting at most until `deadline`; throws
    /// `ETIMEDOUT` when none arrived in time.
    ///
    /// The corresponding C function is `mq_timedreceive` (an absolute
    /// `CLOCK_REALTIME` time; see `send(_:priority:until:)` for how the monotonic
    /// deadline is converted).
    public func receive(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(IPCError) -> (count: Int, priority: UInt32) {
        if deadline == .distantFuture { return try receive(into: buffer) }
        try checkReceive(buffer.count, "mq_timedreceive")
        var priority: CUnsignedInt = 0
        while true {
            var limit = MessageQueueClock.realtime(at: deadline)
            let count = system_mq_timedreceive(handle.raw, buffer.baseAddress, buffer.count, &priority, &limit)
            if count >= 0 { return (count, priority) }
            let code = lastErrno
            if code == EINTR || (code == ETIMEDOUT && !deadline.hasPassed) { continue }
            throw failure("mq_timedreceive", code, timeoutDetail: "no message arrived before the deadline")
        }
    }

    /// `receive(…until:)` with a deadline `timeout` from now.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> (count: Int, priority: UInt32) {
        try receive(into: buffer, until: .after(timeout))
    }

    /// Receives a message, waiting at most until `deadline`.
    public func receive(until deadline: Deadline) throws(IPCError) -> Message {
        try receivingMessage { (buffer) throws(IPCError) in try receive(into: buffer, until: deadline) }!
    }

    /// `receive(…until:)` with a deadline `timeout` from now.
    public func receive(timeout: Duration) throws(IPCError) -> Message { try receive(until: .after(timeout)) }

    /// Receives a message into `buffer` if one is waiting; nil when the queue is
    /// empty. Like `trySend`, it leaves the queue's non-blocking mode alone.
    public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> (count: Int, priority: UInt32)? {
        try checkReceive(buffer.count, "mq_timedreceive")
        var priority: CUnsignedInt = 0
        var past = timespec(tv_sec: 0, tv_nsec: 0)
        let count = retryingInterrupts { system_mq_timedreceive(handle.raw, buffer.baseAddress, buffer.count, &priority, &past) }
        if count >= 0 { return (count, priority) }
        let code = lastErrno
        if code == ETIMEDOUT || code == EAGAIN { return nil }
        throw failure("mq_timedreceive", code)
    }

    /// Receives a message if one is waiting; nil when the queue is empty.
    public func tryReceive() throws(IPCError) -> Message? {
        try receivingMessage { (buffer) throws(IPCError) in try tryReceive(into: buffer) }
    }

    @inline(__always)
    func checkReceive(_ capacity: Int, _ operation: String) throws(IPCError) {
        if capacity < messageSize {
            throw IPCError(.messageTooLong, operation: operation, object: object,
                           detail: "a \(capacity)-byte buffer is smaller than the queue's message size (\(messageSize) bytes)")
        }
    }

    /// Runs `body` on a fresh `messageSize`-byte buffer and keeps the bytes it received.
    func receivingMessage(
        _ body: (UnsafeMutableRawBufferPointer) throws(IPCError) -> (count: Int, priority: UInt32)?
    ) throws(IPCError) -> Message? {
        var failure: IPCError?
        var priority: UInt32?
        let bytes = [UInt8](unsafeUninitializedCapacity: messageSize) { buffer, initialized in
            initialized = 0
            do throws(IPCError) {
                if let received = try body(UnsafeMutableRawBufferPointer(buffer)) {
                    initialized = received.count
                    priority = received.priority
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        guard let priority else { return nil }
        return Message(bytes: bytes, priority: priority)
    }

    /// The error of the call that just failed, with a hint where the errno alone
    /// would puzzle.
    func failure(_ operation: String, _ code: CInt = lastErrno, timeoutDetail: String? = nil) -> IPCError {
        var detail: String?
        if code == ETIMEDOUT { detail = timeoutDetail }
        if code == EBADF {
            switch access {
            case .readOnly where operation.contains("send"): detail = "the queue was opened read-only"
            case .writeOnly where operation.contains("receive"): detail = "the queue was opened write-only"
            default: break
            }
        }
        return IPCError(Errno(rawValue: code), operation: operation, object: object, detail: detail)
    }
}

/// The queue descriptor, closed exactly once, by `close()` or when it ends (an
/// `mqd_t` is a file descriptor on Linux, and `mq_close` is `close`), and the
/// thread notifications registered through it, forgotten when it ends.
struct MessageQueueHandle: ~Copyable, Sendable {
    let descriptor: OwnedDescriptor
    let notifications = MessageQueueNotificationOwner()

    init(_ descriptor: consuming OwnedDescriptor) { self.descriptor = descriptor }

    init(raw: mqd_t) { self.init(OwnedDescriptor(adoptingRaw: raw)) }

    var raw: mqd_t { descriptor.rawValue }

    /// Closes the descriptor; returns `mq_close`'s result with `errno` set.
    consuming func close() -> CInt {
        system_mq_close(descriptor.release().rawValue)
    }
}

/// `Array.withUnsafeBytes` with a typed error.
@inline(__always)
func withMessageBytes<R>(_ message: [UInt8], _ body: (UnsafeRawBufferPointer) throws(IPCError) -> R) throws(IPCError) -> R {
    let result: Result<R, IPCError> = message.withUnsafeBytes { bytes in
        do throws(IPCError) { return .success(try body(bytes)) } catch { return .failure(error) }
    }
    return try result.get()
}
