#if canImport(Glibc)
import Glibc
#endif

// The time-bounded and async forms of socket calls: a non-blocking attempt
// (`MSG_DONTWAIT`, or a non-blocking listener) repeated after readiness.
//
// Readiness can be reported while the attempt still would block: another reader
// took the data, or (for an unconnected datagram socket) the receiver's queue is
// full, which poll cannot see. Repeated misses back off from 50 µs to 5 ms so such
// a wait does not spin a core.

extension OwnedDescriptor {
    /// Repeats `attempt` (nil: would block) until it succeeds; throws `ETIMEDOUT`
    /// naming `operation` once `deadline` passes.
    func retry<R: ~Copyable>(
        _ readiness: Readiness, until deadline: Deadline, operation: String,
        _ attempt: () throws(IPCError) -> R?
    ) throws(IPCError) -> R {
        var misses = 0
        while true {
            if let result = try attempt() { return result }
            if misses > 0 {
                var pause = Self.backoff(misses, remaining: deadline.remaining)
                _ = system_nanosleep(&pause, nil)
            }
            guard try waitForReadiness(rawValue, readiness, until: deadline) else {
                throw IPCError(.timedOut, operation: operation, object: IPCError.describe(fd: rawValue))
            }
            misses += 1
        }
    }

    /// Repeats `attempt` (nil: would block) until it succeeds, suspending on
    /// readiness in between; throws `CancellationError` when the task is cancelled.
    func retry<R: ~Copyable>(
        _ readiness: Readiness, _ attempt: () throws(IPCError) -> R?
    ) async throws -> R {
        try Task.checkCancellation()
        var misses = 0
        while true {
            if let result = try attempt() { return result }
            if misses > 0 {
                let pause = Self.backoff(misses, remaining: .seconds(1))
                try await Task.sleep(for: .nanoseconds(pause.tv_nsec))
            }
            try await waitAsync(for: readiness)
            misses += 1
        }
    }

    /// 50 µs doubling up to 5 ms, never past the time left.
    static func backoff(_ misses: Int, remaining: Duration) -> timespec {
        let nanoseconds = min(50_000 << min(misses - 1, 7), 5_000_000)
        let left = remaining.components
        let leftNanoseconds = left.seconds > 0 ? Int.max : Int(left.attoseconds / 1_000_000_000)
        return timespec(tv_sec: 0, tv_nsec: min(nanoseconds, leftNanoseconds))
    }
}
