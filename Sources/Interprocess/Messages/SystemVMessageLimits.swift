import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The kernel's limits on System V messages (`kernel.msgmax`, `kernel.msgmnb`),
/// read from /proc/sys. `msgmax` is cached for the send check on the hot path and
/// re-read before a message is rejected, so raising it takes effect.
enum SystemVMessageLimits {
    /// Linux's defaults, for a system without /proc.
    static let defaultMaximumMessageSize = 8192
    static let defaultQueueBytes = 16384

    private static let cachedMaximum = Atomic<Int>(0)

    /// `kernel.msgmax`: the longest message `msgsnd` accepts.
    static var maximumMessageSize: Int {
        @inline(__always) get {
            let value = cachedMaximum.load(ordering: .relaxed)
            return value > 0 ? value : refreshedMaximumMessageSize()
        }
    }

    /// Reads `kernel.msgmax` again and caches it.
    static func refreshedMaximumMessageSize() -> Int {
        let value = parameter("msgmax") ?? defaultMaximumMessageSize
        cachedMaximum.store(value, ordering: .relaxed)
        return value
    }

    /// `kernel.msgmnb`: a new queue's `msg_qbytes`, and the most an unprivileged
    /// owner may set it to.
    static var defaultMaximumQueueBytes: Int { parameter("msgmnb") ?? defaultQueueBytes }

    private static func parameter(_ name: String) -> Int? {
        guard case .success(let numbers) = KernelParameterFile(path: "/proc/sys/kernel/" + name).read(),
              numbers.count == 1 else { return nil }
        return Int(clamping: numbers[0])
    }
}
