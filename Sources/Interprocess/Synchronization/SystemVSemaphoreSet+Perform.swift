import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// The blocking, non-blocking and time-bounded `semop` (SPEC Y3). The async form
// is in SystemVSemaphoreSet+Async.swift.
//
// Every form checks the operations before the call: a member outside the set is
// `EFBIG` (negative: `EINVAL`), a change beyond ±32767 (SEMVMX) `ERANGE`, an empty
// list `EINVAL`. The forms taking one `Operation` allocate nothing (the `sembuf`
// lives on the stack); lists of operations are converted in a temporary
// allocation that is on the stack for small lists.
extension SystemVSemaphoreSet {
    /// Performs `operations` atomically: all of them, or, while one cannot be
    /// performed, none, waiting until all can. A blocked caller wakes with
    /// `EIDRM` if the set is removed; a signal is retried. An operation with
    /// `.noWait` that cannot be performed at once makes the call fail with
    /// `EAGAIN` (see `isWouldBlock`) instead of waiting.
    ///
    /// The corresponding C function is `semop`.
    public func perform(_ operations: [Operation]) throws(IPCError) {
        try withOperations(operations, name: "semop") { (list, count) throws(IPCError) in
            try performBlocking(list, count)
        }
    }

    /// Performs one operation, waiting as `perform(_: [Operation])` does. Allocates
    /// nothing: the form for hot paths.
    ///
    /// The corresponding C function is `semop`.
    @inline(__always)
    public func perform(_ operation: Operation) throws(IPCError) {
        var buffer = try sembufChecked(operation, operationName: "semop")
        try performBlocking(&buffer, 1)
    }

    /// Performs `operations` atomically if all can be performed now (every one
    /// gets `IPC_NOWAIT`); returns false, having changed nothing, if not.
    ///
    /// The corresponding C function is `semop` with `IPC_NOWAIT`.
    public func tryPerform(_ operations: [Operation]) throws(IPCError) -> Bool {
        try withOperations(operations, name: "semop", extraFlags: Int16(IPC_NOWAIT)) { (list, count) throws(IPCError) in
            try performNow(list, count)
        }
    }

    /// Performs one operation if it can be performed now; false if not.
    /// Allocates nothing.
    ///
    /// The corresponding C function is `semop` with `IPC_NOWAIT`.
    @inline(__always)
    public func tryPerform(_ operation: Operation) throws(IPCError) -> Bool {
        var buffer = try sembufChecked(operation, operationName: "semop", extraFlags: Int16(IPC_NOWAIT))
        return try performNow(&buffer, 1)
    }

    /// Performs `operations` atomically, waiting at most until `deadline`; throws
    /// `ETIMEDOUT`, having changed nothing, when the deadline passed first (and
    /// `EAGAIN`, with a `.noWait` operation, when they could not be performed at once).
    ///
    /// The deadline is on the monotonic clock; `semtimedop` takes a relative
    /// timeout, recomputed from the deadline after a signal.
    ///
    /// The corresponding C function is `semtimedop`.
    public func perform(_ operations: [Operation], until deadline: Deadline) throws(IPCError) {
        try withOperations(operations, name: "semtimedop") { (list, count) throws(IPCError) in
            try performTimed(list, count, until: deadline)
        }
    }

    /// `perform(_:until:)` with a deadline `timeout` from now.
    public func perform(_ operations: [Operation], timeout: Duration) throws(IPCError) {
        try perform(operations, until: .after(timeout))
    }

    /// Performs one operation, waiting at most until `deadline`; `ETIMEDOUT` when
    /// it passed first. Allocates nothing.
    ///
    /// The corresponding C function is `semtimedop`.
    @inline(__always)
    public func perform(_ operation: Operation, until deadline: Deadline) throws(IPCError) {
        var buffer = try sembufChecked(operation, operationName: "semtimedop")
        try performTimed(&buffer, 1, until: deadline)
    }

    /// `perform(_:until:)` with a deadline `timeout` from now.
    public func perform(_ operation: Operation, timeout: Duration) throws(IPCError) {
        try perform(operation, until: .after(timeout))
    }

    // MARK: the calls

    @inline(__always)
    func performBlocking(_ list: UnsafeMutablePointer<sembuf>, _ count: Int) throws(IPCError) {
        if retryingInterrupts({ system_semop(id, list, count) }) != 0 { throw failure("semop") }
    }

    /// semop with IPC_NOWAIT already in the flags: false for EAGAIN.
    func performNow(_ list: UnsafeMutablePointer<sembuf>, _ count: Int) throws(IPCError) -> Bool {
        if retryingInterrupts({ system_semop(id, list, count) }) == 0 { return true }
        if lastErrno == EAGAIN { return false }
        throw failure("semop")
    }

    /// semtimedop until `deadline`. Linux reports an expired timeout as `EAGAIN`
    /// (not `ETIMEDOUT`), like a `.noWait` operation that cannot proceed; the
    /// library tells the two apart.
    func performTimed(_ list: UnsafeMutablePointer<sembuf>, _ count: Int, until deadline: Deadline) throws(IPCError) {
        if deadline == .distantFuture { return try performBlocking(list, count) }
        let noWait = Self.containsNoWait(list, count)
        while true {
            var timeout = deadline.remainingTimespec!
            if system_semtimedop(id, list, count, &timeout) == 0 { return }
            let code = lastErrno
            if code == EINTR { continue }
            if code == EAGAIN {
                if noWait { throw wouldBlock("semtimedop") }
                if deadline.hasPassed { throw timedOut() }
                continue
            }
            throw failure("semtimedop")
        }
    }

    func wouldBlock(_ operation: String) -> IPCError {
        IPCError(.resourceTemporarilyUnavailable, operation: operation, object: object,
                 detail: "IPC_NOWAIT: the operations cannot be performed now")
    }

    func timedOut() -> IPCError {
        IPCError(.timedOut, operation: "semtimedop", object: object,
                 detail: "the operations could not be performed before the deadline")
    }

    static func containsNoWait(_ list: UnsafeMutablePointer<sembuf>, _ count: Int) -> Bool {
        for i in 0..<count where list[i].sem_flg & Int16(IPC_NOWAIT) != 0 { return true }
        return false
    }

    /// Checks and converts `operations` into a temporary `sembuf` array for `body`.
    func withOperations<R>(
        _ operations: [Operation], name: StaticString, extraFlags: Int16 = 0,
        _ body: (UnsafeMutablePointer<sembuf>, Int) throws(IPCError) -> R
    ) throws(IPCError) -> R {
        guard !operations.isEmpty else {
            throw IPCError(.invalidArgument, operation: name.description, object: object, detail: "the list of operations is empty")
        }
        let result: Result<R, IPCError> = withUnsafeTemporaryAllocation(of: sembuf.self, capacity: operations.count) { buffer in
            do throws(IPCError) {
                let list = buffer.baseAddress!
                for (i, operation) in operations.enumerated() {
                    (list + i).initialize(to: try sembufChecked(operation, operationName: name, extraFlags: extraFlags))
                }
                return .success(try body(list, operations.count))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The error of a `semop`/`semtimedop` that just failed, with what the errno
    /// means here.
    func failure(_ operation: String) -> IPCError {
        var error = IPCError.last(operation, object: object)
        switch error.errno {
        case .identifierRemoved: error.detail = "the set was removed while this process waited"
        case .invalidArgument: error.detail = "there is no set with this identifier (it was removed)"
        case .resourceTemporarilyUnavailable: error.detail = "IPC_NOWAIT: the operations cannot be performed now"
        case .argListTooLong: error.detail = "more operations in one call than SEMOPM allows"
        case .outOfRange: error.detail = "the result, or this process's undo record, would go beyond SEMVMX (\(Self.maximumValue))"
        default: break
        }
        return error
    }
}
