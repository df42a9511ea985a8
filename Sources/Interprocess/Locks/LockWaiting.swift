#if canImport(Glibc)
import Glibc
#endif

/// The four forms of taking a lock (SPEC Y8; README "The API rules"), for all three
/// flavours, over one kernel attempt: `attempt(true)` waits in the kernel
/// (F_SETLKW, F_OFD_SETLKW, flock without LOCK_NB), `attempt(false)` does not.
/// An attempt returns true when it took the lock, false when it would have to
/// wait, nil after EINTR.
///
/// The waiting calls have no kernel timeout, so a deadline or a cancellation
/// interrupts them through the `WaitingEngine` (SIGURG → EINTR): on the calling
/// thread for `until:`, on a worker for `…Async`. An interrupted wait took
/// nothing; a lock taken just as the task was cancelled is kept and reported
/// taken, never lost.
struct LockWaiting: Sendable {
    let attempt: @Sendable (_ wait: Bool) -> Result<Bool, IPCError>?
    /// The ETIMEDOUT error naming the call, the file and the range.
    let timedOut: @Sendable () -> IPCError

    func lock() throws(IPCError) {
        _ = try WaitingEngine.waitOnCallingThread(interruptingAt: .distantFuture) { attempt(true) }?.get()
    }

    func tryLock() throws(IPCError) -> Bool {
        while true { if let result = attempt(false) { return try result.get() } }
    }

    func lock(until deadline: Deadline) throws(IPCError) {
        if deadline == .distantFuture { return try lock() }
        if try tryLock() { return }
        if deadline.hasPassed { throw timedOut() }
        let result = try WaitingEngine.waitOnCallingThread(interruptingAt: deadline) { attempt(true) }
        guard let result else { throw timedOut() }
        _ = try result.get()
    }

    func lockAsync(until deadline: Deadline) async throws {
        try Task.checkCancellation()
        if try tryLock() { return }
        if deadline.hasPassed { throw timedOut() }
        let attempt = self.attempt
        let result = try await WaitingEngine.wait(interruptingAt: deadline) { attempt(true) }
        guard let result else { throw timedOut() }
        _ = try result.get()
    }
}
