#if canImport(Glibc)
import Glibc
#endif

/// The `fs.mqueue` kernel parameters, read when an error needs explaining or a
/// default must be filled in.
enum MessageQueueKernelLimits {
    /// `/proc/sys/fs/mqueue/NAME` (`msg_default`, `msg_max`, `msgsize_default`,
    /// `msgsize_max`, `queues_max`), or nil when it cannot be read.
    static func value(_ name: String) -> Int? {
        guard case .success(let numbers) = KernelParameterFile(path: "/proc/sys/fs/mqueue/" + name).read(),
              numbers.count == 1 else { return nil }
        return Int(clamping: numbers[0])
    }

    /// A detail for an `mq_open` failure whose errno alone says little.
    static func explainOpenFailure(_ code: CInt, created: Bool, maxMessages: Int?, messageSize: Int?) -> String? {
        func limit(_ name: String) -> String { value(name).map(String.init) ?? "?" }
        switch code {
        case EINVAL where created && (maxMessages != nil || messageSize != nil):
            return "maxMessages \(maxMessages ?? 0) and messageSize \(messageSize ?? 0) must be at least 1 and, "
                + "without CAP_SYS_RESOURCE, at most fs.mqueue.msg_max (\(limit("msg_max"))) "
                + "and fs.mqueue.msgsize_max (\(limit("msgsize_max")))"
        case EMFILE where created:
            return "the queue does not fit in this user's RLIMIT_MSGQUEUE, or the process has too many descriptors open"
        case ENOSPC:
            return "the host already has fs.mqueue.queues_max (\(limit("queues_max"))) queues"
        default:
            return nil
        }
    }
}
