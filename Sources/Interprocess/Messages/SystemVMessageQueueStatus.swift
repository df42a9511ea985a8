import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension SystemVMessageQueue {
    /// What `msgctl(IPC_STAT)` reports about a queue (`struct msqid_ds`).
    ///
    /// Times are seconds since the epoch (`CLOCK_REALTIME`); nil means never.
    public struct Status: Hashable, Sendable {
        /// Owner, creator, mode, key and slot sequence (`msg_perm`).
        public var permissions: SystemVPermissions
        /// Messages in the queue now (`msg_qnum`).
        public var messageCount: Int
        /// Bytes of text in the queue now (`msg_cbytes`).
        public var byteCount: Int
        /// The queue's capacity in bytes of text (`msg_qbytes`); it also caps the
        /// number of messages. `kernel.msgmnb` for a new queue.
        public var maximumBytes: Int
        /// The process that sent last (`msg_lspid`).
        public var lastSenderPID: pid_t?
        /// The process that received last (`msg_lrpid`).
        public var lastReceiverPID: pid_t?
        /// When the last message was sent (`msg_stime`).
        public var lastSendTime: Int?
        /// When the last message was received (`msg_rtime`).
        public var lastReceiveTime: Int?
        /// When the queue was created or last changed with `IPC_SET` (`msg_ctime`).
        public var changeTime: Int

        init(_ info: msqid_ds) {
            permissions = SystemVPermissions(info.msg_perm)
            messageCount = Int(info.msg_qnum)
            byteCount = Int(info.__msg_cbytes)
            maximumBytes = Int(clamping: info.msg_qbytes)
            lastSenderPID = info.msg_lspid == 0 ? nil : info.msg_lspid
            lastReceiverPID = info.msg_lrpid == 0 ? nil : info.msg_lrpid
            lastSendTime = info.msg_stime == 0 ? nil : Int(info.msg_stime)
            lastReceiveTime = info.msg_rtime == 0 ? nil : Int(info.msg_rtime)
            changeTime = Int(info.msg_ctime)
        }
    }

    /// The queue's status now. `EACCES` without read permission, `EINVAL` if it was
    /// removed.
    ///
    /// The corresponding C function is `msgctl` with `IPC_STAT`.
    public func status() throws(IPCError) -> Status {
        var info = msqid_ds()
        if system_msgctl(id, IPC_STAT, &info) != 0 { throw failure("msgctl(IPC_STAT)") }
        return Status(info)
    }

    /// Sets the queue's capacity in bytes (`msg_qbytes`), which also caps the number
    /// of messages; messages already queued stay. Allowed to the owner and the
    /// creator (`EPERM` otherwise); above `kernel.msgmnb` only with
    /// `CAP_SYS_RESOURCE` (`EPERM`). `EINVAL` before the call for less than 1 byte
    /// or more than `maximumQueueBytesLimit`: the kernel takes the new capacity as a C
    /// `int`, so a larger value would silently wrap (4294967296 bytes became 0).
    ///
    /// The corresponding C function is `msgctl` with `IPC_STAT`, then `IPC_SET`.
    public func setMaximumBytes(_ bytes: Int) throws(IPCError) {
        guard bytes >= 1, bytes <= Self.maximumQueueBytesLimit else {
            throw IPCError(.invalidArgument, operation: "msgctl(IPC_SET)", object: object,
                           detail: "a queue's capacity is 1 to \(Self.maximumQueueBytesLimit) bytes (msgctl takes it as a C int), not \(bytes)")
        }
        var info = msqid_ds()
        if system_msgctl(id, IPC_STAT, &info) != 0 { throw failure("msgctl(IPC_STAT)") }
        info.msg_qbytes = msglen_t(bytes)
        if system_msgctl(id, IPC_SET, &info) != 0 {
            let code = lastErrno
            var detail: String?
            if code == EPERM {
                let limit = SystemVMessageLimits.defaultMaximumQueueBytes
                detail = bytes > limit
                    ? "more than kernel.msgmnb (\(limit)) needs CAP_SYS_RESOURCE, or this process is not the owner or creator"
                    : "only the owner, the creator or a privileged process may change a queue"
            }
            throw IPCError(Errno(rawValue: code), operation: "msgctl(IPC_SET)", object: object, detail: detail)
        }
    }

    /// The largest capacity `setMaximumBytes` can set: `INT_MAX`, because the kernel
    /// takes `msg_qbytes` as a C `int` (`msgctl_down`).
    public static let maximumQueueBytesLimit = Int(Int32.max)

    /// `kernel.msgmax`: the longest message `send` accepts, and the size `receive`
    /// makes room for by default.
    public static var maximumMessageSize: Int { SystemVMessageLimits.refreshedMaximumMessageSize() }

    /// `kernel.msgmnb`: a new queue's `maximumBytes`, and the most an unprivileged
    /// owner may set it to.
    public static var defaultMaximumBytes: Int { SystemVMessageLimits.defaultMaximumQueueBytes }
}
