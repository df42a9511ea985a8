#if canImport(Glibc)
import Glibc
#endif

extension Signals {
    /// Sends `signal` to process `pid` (`kill`). `pid` 0 or negative names a
    /// process group as `kill(2)` does; signal 0 only checks that the process
    /// exists and may be signalled. Throws `ESRCH` (no such process), `EPERM`
    /// (not allowed), `EINVAL` (no such signal).
    public static func send(_ signal: CInt, to pid: pid_t) throws(IPCError) {
        try checkSendable(signal, allowingZero: true)
        if system_kill(pid, signal) == -1 {
            throw IPCError.last("kill", object: "pid \(pid)", detail: "sending \(name(of: signal))")
        }
    }

    /// Sends `signal` with the integer `value` to process `pid` (`sigqueue`, SPEC
    /// M4): the receiver's `ReceivedSignal.value`. A realtime signal is queued: each
    /// one sent is received, in order for one signal number, lower numbers first
    /// (a standard signal still pending is not queued twice). Throws `EAGAIN` when
    /// the receiver's owner has `RLIMIT_SIGPENDING` signals queued, `ESRCH`,
    /// `EPERM`, `EINVAL`.
    public static func send(_ signal: CInt, to pid: pid_t, value: Int32) throws(IPCError) {
        try checkSendable(signal, allowingZero: false)
        guard pid > 0 else {
            throw IPCError(.invalidArgument, operation: "sigqueue", object: "pid \(pid)",
                           detail: "sigqueue sends to one process: the pid must be positive")
        }
        if system_sigqueue(pid, signal, value) == -1 {
            let detail = lastErrno == EAGAIN
                ? "\(name(of: signal)): the receiver has RLIMIT_SIGPENDING signals queued already"
                : "sending \(name(of: signal))"
            throw IPCError.last("sigqueue", object: "pid \(pid)", detail: detail)
        }
    }

    private static func checkSendable(_ signal: CInt, allowingZero: Bool) throws(IPCError) {
        guard signal >= (allowingZero ? 0 : 1) && signal <= realtime.upperBound else {
            throw IPCError(.invalidArgument, operation: allowingZero ? "kill" : "sigqueue", object: "signal \(signal)",
                           detail: "signal numbers are \(allowingZero ? 0 : 1)–\(realtime.upperBound)")
        }
    }
}
