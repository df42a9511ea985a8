#if canImport(Glibc)
import Glibc
#endif

/// `mq_timedsend` and `mq_timedreceive` take an absolute `CLOCK_REALTIME` time,
/// while the library's deadlines are on the monotonic clock.
enum MessageQueueClock {
    /// The wall-clock time at which `deadline` falls, computed now: the realtime
    /// clock plus the monotonic time left. Call it again for each attempt, so a wait
    /// resumed after EINTR or a clock change gets the time that is really left.
    static func realtime(at deadline: Deadline) -> timespec {
        let left = deadline.remaining.components
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var (seconds, overflow) = now.tv_sec.addingReportingOverflow(Int(left.seconds))
        var nanoseconds = now.tv_nsec + Int(left.attoseconds / 1_000_000_000)
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            let carried = seconds.addingReportingOverflow(1)
            seconds = carried.partialValue
            overflow = overflow || carried.overflow
        }
        if overflow { return timespec(tv_sec: .max, tv_nsec: 999_999_999) }
        return timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }
}
