#if canImport(Glibc)
import Glibc
#endif

/// A point in time on the monotonic clock (`CLOCK_MONOTONIC`), by which a
/// time-bounded operation must finish.
public struct Deadline: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary start of the monotonic clock.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The current time.
    public static var now: Deadline {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Deadline(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    /// A deadline that never comes.
    public static var distantFuture: Deadline { Deadline(nanoseconds: .max) }

    /// `timeout` from now; a negative timeout is a deadline already past.
    public static func after(_ timeout: Duration) -> Deadline {
        let now = Deadline.now.nanoseconds
        let (seconds, attoseconds) = timeout.components
        if seconds < 0 || (seconds == 0 && attoseconds < 0) { return Deadline(nanoseconds: now) }
        let (wholeNs, overflow1) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (delta, overflow2) = wholeNs.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        let (sum, overflow3) = now.addingReportingOverflow(delta)
        if overflow1 || overflow2 || overflow3 { return .distantFuture }
        return Deadline(nanoseconds: sum)
    }

    /// Time left until the deadline (zero when it has passed).
    public var remaining: Duration {
        let now = Deadline.now.nanoseconds
        return nanoseconds > now ? .nanoseconds(Int64(clamping: nanoseconds - now)) : .zero
    }

    public var hasPassed: Bool { Deadline.now >= self }

    public static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Time left as a `timespec`, or nil for a deadline that never comes.
    var remainingTimespec: timespec? {
        if self == .distantFuture { return nil }
        let now = Deadline.now.nanoseconds
        let left = nanoseconds > now ? nanoseconds - now : 0
        return timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
    }

    /// The deadline as an absolute `CLOCK_MONOTONIC` time, for `sem_clockwait`,
    /// futex waits and `pthread_cond_timedwait` on the monotonic clock.
    var absoluteTimespec: timespec {
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }
}
