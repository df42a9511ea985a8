import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// The async form of `perform` (SPEC Y3; DESIGN, API principle 3).
//
// A semaphore set has no descriptor to poll, so an operation that cannot be
// performed at once waits in `semop` (or `semtimedop` for a deadline, the
// kernel's own timeout) on a worker of the `WaitingEngine`, never on a thread of
// the cooperative pool. Cancelling the task interrupts it there (a signal that
// makes `semop` return `EINTR`; System V calls are never restarted). `semop` is
// atomic, so a cancelled wait changed nothing, and operations performed just as
// the task was cancelled return normally: what they did is not lost.
extension SystemVSemaphoreSet {
    /// Performs `operations` atomically without blocking a thread of the
    /// cooperative pool; throws `CancellationError` promptly, having changed
    /// nothing, when the task is cancelled. Otherwise as `perform(_:)`.
    ///
    /// The corresponding C function is `semop`.
    public func performAsync(_ operations: [Operation]) async throws {
        try await performAsync(operations, until: .distantFuture)
    }

    /// Performs `operations` atomically, waiting at most until `deadline`, without
    /// blocking a thread of the cooperative pool; throws `ETIMEDOUT` when the
    /// deadline passed first (`EAGAIN` when a `.noWait` operation could not be
    /// performed at once), `CancellationError` when the task is cancelled.
    ///
    /// The corresponding C function is `semtimedop`.
    public func performAsync(_ operations: [Operation], until deadline: Deadline) async throws {
        try Task.checkCancellation()
        let list = try withOperations(operations, name: "semop") { (list, count) throws(IPCError) in
            Array(UnsafeBufferPointer(start: list, count: count))
        }
        try await performAsync(SembufList(list), until: deadline)
    }

    /// `performAsync(_:until:)` with a deadline `timeout` from now.
    public func performAsync(_ operations: [Operation], timeout: Duration) async throws {
        try await performAsync(operations, until: .after(timeout))
    }

    /// Performs one operation; see `performAsync(_:)`.
    public func performAsync(_ operation: Operation) async throws {
        try await performAsync(operation, until: .distantFuture)
    }

    /// Performs one operation, waiting at most until `deadline`; see
    /// `performAsync(_:until:)`.
    public func performAsync(_ operation: Operation, until deadline: Deadline) async throws {
        try Task.checkCancellation()
        try await performAsync(SembufList([try sembufChecked(operation, operationName: "semop")]), until: deadline)
    }

    /// `performAsync(_:until:)` with a deadline `timeout` from now.
    public func performAsync(_ operation: Operation, timeout: Duration) async throws {
        try await performAsync(operation, until: .after(timeout))
    }

    /// A checked list of `sembuf`, handed to the waiting thread.
    struct SembufList: @unchecked Sendable {
        var list: [sembuf]
        init(_ list: [sembuf]) { self.list = list }
    }

    func performAsync(_ operations: SembufList, until deadline: Deadline) async throws {
        // Most operations can be performed at once: no worker for those.
        var first = operations.list
        let done = try first.withUnsafeMutableBufferPointer { (buffer) throws(IPCError) -> Bool in
            let noWait = Self.containsNoWait(buffer.baseAddress!, buffer.count)
            for i in buffer.indices { buffer[i].sem_flg |= Int16(IPC_NOWAIT) }
            defer { if !noWait { for i in buffer.indices { buffer[i].sem_flg &= ~Int16(IPC_NOWAIT) } } }
            if try performNow(buffer.baseAddress!, buffer.count) { return true }
            if noWait { throw wouldBlock("semop") }
            return false
        }
        if done { return }
        if deadline.hasPassed { throw timedOut() }

        let set = self
        let result = try await WaitingEngine.wait { () -> Result<Bool, IPCError>? in
            var list = operations.list
            return list.withUnsafeMutableBufferPointer { buffer in
                set.attempt(buffer.baseAddress!, buffer.count, until: deadline)
            }
        }
        guard try result?.get() == true else { throw timedOut() }
    }

    /// One `semop` (or `semtimedop` until `deadline`): true when performed, false
    /// when the deadline passed, nil after `EINTR`.
    private func attempt(_ list: UnsafeMutablePointer<sembuf>, _ count: Int, until deadline: Deadline) -> Result<Bool, IPCError>? {
        let rc: CInt
        if deadline == .distantFuture {
            rc = system_semop(id, list, count)
        } else {
            var timeout = deadline.remainingTimespec!
            rc = system_semtimedop(id, list, count, &timeout)
        }
        if rc == 0 { return .success(true) }
        let code = lastErrno
        if code == EINTR { return nil }
        if code == EAGAIN { return .success(false) }
        return .failure(failure(deadline == .distantFuture ? "semop" : "semtimedop"))
    }
}
