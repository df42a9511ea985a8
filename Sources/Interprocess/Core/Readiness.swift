#if canImport(Glibc)
import Glibc
#endif

/// What a descriptor is waited on for.
public struct Readiness: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Data to read, end of file, or a connection to accept (`POLLIN`).
    public static let readable = Readiness(rawValue: Int16(POLLIN))
    /// Room to write (`POLLOUT`).
    public static let writable = Readiness(rawValue: Int16(POLLOUT))
}

extension OwnedDescriptor {
    /// Waits until the descriptor is ready for `readiness`, or the deadline passes
    /// (`ETIMEDOUT`).
    ///
    /// Hang-up and error conditions count as ready: the next read or write reports
    /// them. Interrupted waits resume with the time that is left. The corresponding
    /// C function is `ppoll`.
    public func wait(for readiness: Readiness, until deadline: Deadline) throws(IPCError) {
        if try !waitForReadiness(rawValue, readiness, until: deadline) {
            throw IPCError(.timedOut, operation: "ppoll", object: IPCError.describe(fd: rawValue),
                           detail: "not ready before the deadline")
        }
    }

    /// `wait(for:until:)` with a deadline `timeout` from now.
    public func wait(for readiness: Readiness, timeout: Duration) throws(IPCError) {
        try wait(for: readiness, until: .after(timeout))
    }

    /// Whether the descriptor is ready for `readiness` now, without waiting
    /// (`ppoll` with a zero timeout).
    public func tryWait(for readiness: Readiness) throws(IPCError) -> Bool {
        try waitForReadiness(rawValue, readiness, until: .now)
    }
}

/// `ppoll` on one descriptor with a deadline, resuming after EINTR.
func waitForReadiness(_ fd: CInt, _ readiness: Readiness, until deadline: Deadline) throws(IPCError) -> Bool {
    var entry = pollfd(fd: fd, events: readiness.rawValue, revents: 0)
    while true {
        let result: CInt
        if var left = deadline.remainingTimespec {
            result = system_ppoll(&entry, 1, &left)
        } else {
            result = system_ppoll(&entry, 1, nil)
        }
        if result > 0 {
            if entry.revents & Int16(POLLNVAL) != 0 {
                throw IPCError(.badFileDescriptor, operation: "ppoll", object: IPCError.describe(fd: fd))
            }
            return true
        }
        if result == 0 { return false }
        if lastErrno != EINTR { throw IPCError.last("ppoll", fd: fd) }
    }
}

/// Readiness right now, without waiting (`ppoll` with a zero timeout).
func isReady(_ fd: CInt, _ readiness: Readiness) -> Bool {
    var entry = pollfd(fd: fd, events: readiness.rawValue, revents: 0)
    var zero = timespec(tv_sec: 0, tv_nsec: 0)
    return retryingInterrupts { system_ppoll(&entry, 1, &zero) } > 0
}
