import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension PosixMessageQueue {
    /// How the kernel tells a process that a message arrived on an empty queue
    /// (SPEC M2; see `PosixMessageQueue.registerNotification(_:)`).
    public enum Notification: Sendable {
        /// Send `signal` to this process, with `si_code` `SI_MESGQ`, `si_value.sival_int`
        /// `value`, and the sender's pid and uid in `si_pid` and `si_uid`
        /// (`SIGEV_SIGNAL`). Block the signal and read it with `sigwaitinfo` or a
        /// signalfd, or handle it.
        case signal(CInt, value: CInt = 0)
        /// Call `handler` on a new thread (`SIGEV_THREAD`; glibc starts it, the library
        /// names it `ipc-mq-notify` and gives it the mask of `LibraryThread`s).
        case thread(@Sendable () -> Void)
    }
}

extension PosixMessageQueue {
    /// Asks to be notified once, when a message arrives on this queue while it is
    /// empty (SPEC M2).
    ///
    /// The rules are the kernel's: one process at a time may be registered for a
    /// queue (another process, or this one a second time, gets `EBUSY`); the
    /// registration is removed when the notification is sent (register again for
    /// the next one), when this process closes any descriptor of the queue, and at
    /// exit; and no notification is sent while another process is blocked in
    /// `mq_receive` on the queue — that process gets the message instead.
    ///
    /// For an async sequence of messages, `messages()` is simpler: it does not use
    /// this registration at all. The corresponding C function is `mq_notify`.
    public func registerNotification(_ notification: Notification) throws(IPCError) {
        switch notification {
        case .signal(let signal, let value):
            guard signal > 0 && signal < cipc_sigrtmax() + 1 else {
                throw IPCError(.invalidArgument, operation: "mq_notify", object: object, detail: "\(signal) is not a signal number")
            }
            if system_mq_notify_signal(handle.raw, signal, value) != 0 { throw notifyFailure() }
        case .thread(let handler):
            let token = MessageQueueThreadNotifications.add(handle.notifications.id, handler)
            if system_mq_notify_thread(handle.raw, messageQueueNotificationCallback, token) != 0 {
                let error = notifyFailure()
                MessageQueueThreadNotifications.remove(token)
                throw error
            }
        }
    }

    /// Removes this process's registration, if it has one. The corresponding C
    /// call is `mq_notify(queue, NULL)`.
    public func removeNotification() throws(IPCError) {
        if system_mq_notify_remove(handle.raw) != 0 { throw notifyFailure() }
        MessageQueueThreadNotifications.forget(handle.notifications.id)
    }

    private func notifyFailure() -> IPCError {
        let code = lastErrno
        let detail = code == EBUSY ? "a process (maybe this one) is already registered for this queue" : nil
        return IPCError(Errno(rawValue: code), operation: "mq_notify", object: object, detail: detail)
    }
}

/// Names the thread notifications registered through one queue handle, and forgets
/// them when the handle ends. They are kept by this name rather than by descriptor
/// number, which another queue may reuse as soon as the descriptor is closed.
struct MessageQueueNotificationOwner: ~Copyable, Sendable {
    let id = MessageQueueThreadNotifications.newOwner()

    deinit { MessageQueueThreadNotifications.forget(id) }
}

/// The handlers of thread notifications, by token. The kernel hands the token back
/// when it notifies; a token whose registration was removed (or whose descriptor
/// was closed) finds nothing and calls nothing.
enum MessageQueueThreadNotifications {
    private struct Entry {
        var owner: UInt64
        var handler: @Sendable () -> Void
    }

    private static let entries = Mutex<[UInt64: Entry]>([:])
    /// Lets `forget` skip the lock when no thread notification was ever registered.
    private static let count = Atomic<Int>(0)
    private static let nextToken = Atomic<UInt64>(1)
    private static let nextOwner = Atomic<UInt64>(1)

    static func newOwner() -> UInt64 { nextOwner.wrappingAdd(1, ordering: .relaxed).oldValue }

    static func add(_ owner: UInt64, _ handler: @escaping @Sendable () -> Void) -> UInt64 {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        entries.withLock { $0[token] = Entry(owner: owner, handler: handler) }
        count.add(1, ordering: .relaxed)
        return token
    }

    static func remove(_ token: UInt64) {
        let removed = entries.withLock { $0.removeValue(forKey: token) }
        if removed != nil { count.subtract(1, ordering: .relaxed) }
    }

    /// Drops the registrations made through the handle `owner` (removed or closed).
    static func forget(_ owner: UInt64) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        let removed = entries.withLock { entries -> Int in
            let tokens = entries.filter { $0.value.owner == owner }.map(\.key)
            for token in tokens { entries[token] = nil }
            return tokens.count
        }
        if removed > 0 { count.subtract(removed, ordering: .relaxed) }
    }

    /// On glibc's notification thread: one-shot, like the registration.
    static func fire(_ token: UInt64) {
        let entry = entries.withLock { $0.removeValue(forKey: token) }
        guard let entry else { return }
        count.subtract(1, ordering: .relaxed)
        entry.handler()
    }
}

private let messageQueueNotificationCallback: cipc_mq_notify_callback = { token in
    MessageQueueThreadNotifications.fire(token)
}
