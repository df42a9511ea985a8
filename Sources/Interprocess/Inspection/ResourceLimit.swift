#if canImport(Glibc)
import Glibc
#endif

/// A resource limit of this process: the soft limit the kernel enforces and the
/// hard ceiling up to which an unprivileged process may raise it (SPEC L1).
///
/// ```swift
/// let files = try ResourceLimit.current(.openFiles)
/// try ResourceLimit.raiseSoftLimit(.openFiles, to: 4096)
/// ```
///
/// The corresponding C functions are `getrlimit` and `setrlimit`.
public struct ResourceLimit: Sendable, Hashable {
    /// The resources the IPC facilities depend on.
    public enum Resource: Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// `RLIMIT_NOFILE`: one more than the highest descriptor number a process may
        /// open (OPEN_MAX).
        case openFiles
        /// `RLIMIT_MSGQUEUE`: bytes the real user may hold in POSIX message queues.
        case messageQueueBytes
        /// `RLIMIT_SIGPENDING`: signals the real user may have queued (SIGQUEUE_MAX).
        case pendingSignals

        /// The C name, e.g. `RLIMIT_NOFILE`.
        public var description: String {
            switch self {
            case .openFiles: "RLIMIT_NOFILE"
            case .messageQueueBytes: "RLIMIT_MSGQUEUE"
            case .pendingSignals: "RLIMIT_SIGPENDING"
            }
        }

        var rawValue: __rlimit_resource_t {
            switch self {
            case .openFiles: __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
            case .messageQueueBytes: __rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue)
            case .pendingSignals: __rlimit_resource_t(__RLIMIT_SIGPENDING.rawValue)
            }
        }
    }

    /// The limit the kernel enforces now; nil when unlimited (`RLIM_INFINITY`).
    public var soft: UInt64?
    /// The most the soft limit can be raised to without privilege; nil when unlimited.
    public var hard: UInt64?

    public init(soft: UInt64?, hard: UInt64?) {
        self.soft = soft
        self.hard = hard
    }

    /// This process's limit for `resource`. The corresponding C function is `getrlimit`.
    public static func current(_ resource: Resource) throws(IPCError) -> ResourceLimit {
        var limit = rlimit()
        if system_getrlimit(resource.rawValue, &limit) != 0 {
            throw IPCError.last("getrlimit", object: resource.description)
        }
        return ResourceLimit(soft: finite(limit.rlim_cur), hard: finite(limit.rlim_max))
    }

    /// Raises this process's soft limit for `resource` to `count` and returns the
    /// limit now in force. A soft limit already at or above `count` is left alone:
    /// this never lowers a limit.
    ///
    /// Throws `EINVAL` before any system call when `count` is above the hard limit
    /// (only a privileged process may raise that), and `EPERM` when the kernel
    /// refuses (for descriptors, above `/proc/sys/fs/nr_open`).
    /// The corresponding C function is `setrlimit`.
    @discardableResult
    public static func raiseSoftLimit(_ resource: Resource, to count: UInt64) throws(IPCError) -> ResourceLimit {
        let now = try current(resource)
        if now.soft == nil || now.soft! >= count { return now }
        if let hard = now.hard, count > hard {
            throw IPCError(.invalidArgument, operation: "setrlimit", object: resource.description,
                           detail: "\(count) is above the hard limit \(hard); only a privileged process can raise the hard limit")
        }
        var limit = rlimit(rlim_cur: rlim_t(count), rlim_max: now.hard.map { rlim_t($0) } ?? infinity)
        if system_setrlimit(resource.rawValue, &limit) != 0 {
            throw IPCError.last("setrlimit", object: resource.description, detail: "soft limit \(count)")
        }
        return try current(resource)
    }

    /// Raises the soft limit on open descriptors (OPEN_MAX) to `count`; see
    /// `raiseSoftLimit(_:to:)`.
    @discardableResult
    public static func raiseOpenFiles(to count: UInt64) throws(IPCError) -> ResourceLimit {
        try raiseSoftLimit(.openFiles, to: count)
    }

    /// `RLIM_INFINITY` (all bits set), which Swift cannot import from the C macro.
    private static let infinity = rlim_t.max

    private static func finite(_ value: rlim_t) -> UInt64? {
        value == infinity ? nil : UInt64(value)
    }
}
