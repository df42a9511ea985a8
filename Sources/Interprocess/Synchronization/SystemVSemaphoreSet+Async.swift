import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// The async form of `perform` (SPEC Y3; DESIGN, API principle 3).
//
// A semaphore set has no descriptor to poll, so an operation that cannot be
// performed at once waits in `semop` (or `semtimedop` for a deadline) as a
// `BlockingCall`, on a thread of the library's own, never on a thread of the
// cooperative pool. Cancelling the task stops that thread with
// `InterruptibleThread` (a `SIGURG` that makes `semop` return `EINTR`; System V
// calls are never restarted). If the program has its own `SIGURG` handler, the
// thread waits in `semtimedop` slices of 50 ms instead and notices the
// cancellation at the end of a slice. `semop` is atomic, so a cancelled wait
// changed nothing, and operations performed just as the task was cancelled
// return normally: what they did is not lost.
extension SystemVSemaphoreSet {
    /// Performs `operations` atomically without blocking a thread of the
    /// cooperative pool; throws `CancellationError` promptly, having changed
    /// nothing, when the task is cancelled. Otherwise as `perform(_:)`.
    ///
    /// The corresponding C function is `semop`.
    public func perform(_ operations: [Operation]) async throws {
        if try await perform(operations, until: .distantFuture) == false {
            throw wouldBlock("semop")
        }
    }

    /// Performs `operations` atomically, waiting at most until `deadline`, without
    /// blocking a thread of the cooperative pool; false when the deadline passed
    /// first (or a `.noWait` operation could not be performed at once); throws
    /// `CancellationError` when the task is cancelled.
    ///
    /// The corresponding C function is `semtimedop`.
    public func perform(_ operations: [Operation], until deadline: Deadline) async throws -> Bool {
        try Task.checkCancellation()
        let list = try withOperations(operations, name: "semop") { (list, count) throws(IPCError) in
            Array(UnsafeBufferPointer(start: list, count: count))
        }
        return try await performAsync(SembufList(list), until: deadline)
    }

    /// Performs one operation; see `perform(_:) async`.
    public func perform(_ operation: Operation) async throws {
        if try await perform(operation, until: .distantFuture) == false {
            throw wouldBlock("semop")
        }
    }

    /// Performs one operation, waiting at most until `deadline`; see
    /// `perform(_:until:) async`.
    public func perform(_ operation: Operation, until deadline: Deadline) async throws -> Bool {
        try Task.checkCancellation()
        return try await performAsync(SembufList([try sembufChecked(operation, operationName: "semop")]), until: deadline)
    }

    private func wouldBlock(_ operation: String) -> IPCError {
        IPCError(.resourceTemporarilyUnavailable, operation: operation, object: object,
                 detail: "IPC_NOWAIT: the operations cannot be performed now")
    }

    /// Without the interrupt signal: how long one `semtimedop` may block.
    static let fallbackSlice: UInt64 = 50_000_000

    private enum WaitResult: Sendable {
        case performed
        case notPerformed
        case cancelled
        case failed(IPCError)
    }

    /// A checked list of `sembuf`, handed to the waiting thread.
    struct SembufList: @unchecked Sendable {
        var list: [sembuf]
        init(_ list: [sembuf]) { self.list = list }
    }

    /// - Parameter interrupts: whether to interrupt with the signal (tests turn it
    ///   off to exercise the slices).
    func performAsync(_ operations: SembufList, until deadline: Deadline, interrupts: Bool = InterruptibleThread.signalsWork) async throws -> Bool {
        // Most operations can be performed at once: no thread for those.
        var first = operations.list
        let now = try first.withUnsafeMutableBufferPointer { (buffer) throws(IPCError) -> Bool? in
            let noWait = Self.containsNoWait(buffer.baseAddress!, buffer.count)
            for i in buffer.indices { buffer[i].sem_flg |= Int16(IPC_NOWAIT) }
            defer { if !noWait { for i in buffer.indices { buffer[i].sem_flg &= ~Int16(IPC_NOWAIT) } } }
            if try performNow(buffer.baseAddress!, buffer.count) { return true }
            return noWait ? false : nil
        }
        if let now { return now }
        if deadline.hasPassed { return false }

        let thread = InterruptibleThread(signalling: interrupts)
        let set = self
        let outcome = try await BlockingCall.run {
            thread.enter()
            defer { thread.leave() }
            var list = operations.list
            return list.withUnsafeMutableBufferPointer { buffer in
                set.waitLoop(buffer.baseAddress!, buffer.count, until: deadline, interrupts: interrupts, thread: thread)
            }
        } interrupt: {
            thread.stop()
        }
        switch outcome.value {
        case .performed: return true
        case .notPerformed: return false
        case .cancelled: throw CancellationError()
        case .failed(let error): throw error
        }
    }

    /// The waiting thread's loop: EINTR from the interrupt signal ends it once the
    /// call is being stopped; any other EINTR is retried.
    private func waitLoop(_ list: UnsafeMutablePointer<sembuf>, _ count: Int, until deadline: Deadline,
                          interrupts: Bool, thread: InterruptibleThread) -> WaitResult {
        while true {
            if thread.isStopped { return .cancelled }
            var limit = deadline
            if !interrupts {
                limit = min(deadline, Deadline(nanoseconds: Deadline.now.nanoseconds &+ Self.fallbackSlice))
            }
            let rc: CInt
            if limit == .distantFuture {
                rc = system_semop(id, list, count)
            } else {
                var timeout = limit.remainingTimespec!
                rc = system_semtimedop(id, list, count, &timeout)
            }
            if rc == 0 { return .performed }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EAGAIN {
                // semtimedop's timeout: the deadline's, or only a slice's.
                if deadline.hasPassed { return .notPerformed }
                continue
            }
            return .failed(failure(limit == .distantFuture ? "semop" : "semtimedop"))
        }
    }
}
