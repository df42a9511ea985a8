import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A child process this process spawned, held through a pidfd (SPEC P2).
///
/// Waiting goes through the pidfd (`waitid(P_PIDFD, …)`), so it can only ever reap
/// this child — never one another library started. A child that is dropped
/// without being waited for is reaped in the background: no zombies are left.
public struct ChildProcess: ~Copyable, Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The pidfd: readable once the child has terminated. Close-on-exec.
    public let pidDescriptor: OwnedDescriptor
    /// The final status once the child has been reaped.
    public private(set) var terminationStatus: ChildStatus?

    init(spawned pid: pid_t) throws(IPCError) {
        let fd = system_pidfd_open(pid)
        if fd < 0 {
            let error = IPCError.last("pidfd_open", object: "pid \(pid)")
            // Without a pidfd the child cannot be tracked safely: end it now.
            _ = system_kill(pid, SIGKILL)
            var ignored: Int32 = 0
            _ = retryingInterrupts { system_waitpid(pid, &ignored, 0) }
            throw error
        }
        self.pid = pid
        self.pidDescriptor = OwnedDescriptor(adoptingRaw: fd)
    }

    deinit {
        if terminationStatus == nil { BackgroundReaper.adopt(pidDescriptor) }
    }

    private var pidfd: CInt { pidDescriptor.rawValue }

    /// Sends `signal` to the child. Safe against pid reuse: the signal goes through
    /// the pidfd. The corresponding C function is `pidfd_send_signal`.
    public func signal(_ signal: CInt) throws(IPCError) {
        if system_pidfd_send_signal(pidfd, signal) != 0 {
            throw IPCError.last("pidfd_send_signal", object: "pid \(pid)", detail: "signal \(signal)")
        }
    }

    // MARK: waiting for termination

    /// Blocks until the child terminates and reaps it.
    public mutating func wait() throws(IPCError) -> ChildStatus {
        if let terminationStatus { return terminationStatus }
        let status = try waitid(options: WEXITED)!
        terminationStatus = status
        return status
    }

    /// Reaps the child if it has terminated; nil if it is still running.
    public mutating func tryWait() throws(IPCError) -> ChildStatus? {
        if let terminationStatus { return terminationStatus }
        terminationStatus = try waitid(options: WEXITED | WNOHANG)
        return terminationStatus
    }

    /// Waits until the child terminates, or the deadline passes (`ETIMEDOUT`; the
    /// child keeps running).
    public mutating func wait(until deadline: Deadline) throws(IPCError) -> ChildStatus {
        if let terminationStatus { return terminationStatus }
        guard try waitForReadiness(pidfd, .readable, until: deadline), let status = try tryWait() else {
            throw IPCError(.timedOut, operation: "waitid", object: "pid \(pid)",
                           detail: "the child was still running at the deadline")
        }
        return status
    }

    /// `wait(…until:)` with a deadline `timeout` from now.
    public mutating func wait(timeout: Duration) throws(IPCError) -> ChildStatus { try wait(until: .after(timeout)) }

    /// Suspends until the child terminates, without blocking a thread; throws
    /// `CancellationError` promptly when the task is cancelled (the child keeps
    /// running).
    public mutating func waitAsync() async throws -> ChildStatus {
        while true {
            if let status = try tryWait() { return status }
            try await Reactor.shared.waitAsync(pidfd, for: .readable)
        }
    }

    // MARK: stop and continue

    /// Blocks until the child stops, continues or terminates, and returns what
    /// happened. Termination reaps the child.
    /// The corresponding C call is `waitid(P_PIDFD, fd, …, WEXITED|WSTOPPED|WCONTINUED)`.
    public mutating func nextChange() throws(IPCError) -> ChildStatus {
        if let terminationStatus { return terminationStatus }
        let status = try waitid(options: WEXITED | WSTOPPED | WCONTINUED)!
        if status.isTermination { terminationStatus = status }
        return status
    }

    /// Like `nextChange()`, but returns nil at once when nothing has changed.
    public mutating func tryNextChange() throws(IPCError) -> ChildStatus? {
        if let terminationStatus { return terminationStatus }
        let status = try waitid(options: WEXITED | WSTOPPED | WCONTINUED | WNOHANG)
        if let status, status.isTermination { terminationStatus = status }
        return status
    }

    private func waitid(options: CInt) throws(IPCError) -> ChildStatus? {
        var event = cipc_child_event()
        let rc = retryingInterrupts {
            system_waitid(idtype_t(UInt32(cipc_p_pidfd())), id_t(pidfd), options, &event)
        }
        if rc != 0 { throw IPCError.last("waitid", object: "pid \(pid)") }
        if event.pid == 0 { return nil }
        return ChildStatus(code: event.code, status: event.status)
    }
}

/// Reaps children whose `ChildProcess` was dropped before they were waited for.
enum BackgroundReaper {
    static func adopt(_ descriptor: consuming OwnedDescriptor) {
        let pidfd = descriptor.release().rawValue
        Task.detached {
            var event = cipc_child_event()
            while true {
                let rc = system_waitid(idtype_t(UInt32(cipc_p_pidfd())), id_t(pidfd), WEXITED | WNOHANG, &event)
                if rc != 0 && lastErrno == EINTR { continue }
                if rc != 0 || event.pid != 0 { break }  // reaped, or no longer ours to reap
                try? await Reactor.shared.waitAsync(pidfd, for: .readable)
            }
            _ = system_close(pidfd)
        }
    }
}
