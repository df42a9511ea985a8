#if canImport(Glibc)
import Glibc
#endif

// The scoped forms of `MappedReadWriteLock` (SPEC Y6): the lock is held for the
// body and released after, whatever the body does; the async forms take it on a
// worker of the waiting engine and run the body there.

extension MappedReadWriteLock {
    /// Runs `body` holding the lock shared, and releases it after.
    public func withSharedLock<R>(_ body: () throws -> R) throws -> R {
        try Self.sharedLocked(operations, operations.acquireShared(.until(.distantFuture), "pthread_rwlock_rdlock").get()!, body)
    }

    /// Like `withSharedLock(_:)`, waiting at most until `deadline` (`ETIMEDOUT`).
    public func withSharedLock<R>(until deadline: Deadline, _ body: () throws -> R) throws -> R {
        try Self.sharedLocked(operations, operations.acquireShared(.until(deadline), "pthread_rwlock_clockrdlock").get()!, body)
    }

    /// Runs `body` holding the lock exclusively and releases it after, whatever
    /// `body` does. When a writer died holding it, `repair` runs first (with the
    /// dead pid); when it returns the lock is marked consistent, when it throws the
    /// lock is released unrepaired (then not recoverable) and the error goes on.
    public func withExclusiveLock<R>(ifOwnerDied repair: (_ pid: Int32?) throws -> Void, _ body: () throws -> R) throws -> R {
        try Self.exclusiveLocked(operations, try lockExclusive(), repair, body)
    }

    /// Like `withExclusiveLock(ifOwnerDied:_:)`, waiting at most until `deadline`
    /// (`ETIMEDOUT`).
    public func withExclusiveLock<R>(until deadline: Deadline, ifOwnerDied repair: (_ pid: Int32?) throws -> Void,
                                     _ body: () throws -> R) throws -> R {
        try Self.exclusiveLocked(operations, try lockExclusive(until: deadline), repair, body)
    }

    /// With reader slot `slot` taken: body, release.
    static func sharedLocked<R>(_ operations: ReadWriteLockOperations, _ slot: Int, _ body: () throws -> R) throws -> R {
        let result: R
        do { result = try body() } catch {
            try? operations.releaseSlot(slot)
            throw error
        }
        try operations.releaseSlot(slot)
        return result
    }

    /// With the lock held exclusively as `acquisition`: repair, body, release.
    static func exclusiveLocked<R>(_ operations: ReadWriteLockOperations, _ acquisition: Acquisition,
                                   _ repair: (_ pid: Int32?) throws -> Void, _ body: () throws -> R) throws -> R {
        try acquisition.holding(repair: repair, markConsistent: operations.markConsistent, release: operations.releaseExclusive, body)
    }

    /// The async form of `withSharedLock`: suspends the task (never blocking a
    /// thread of the cooperative pool) until the lock is taken shared on a worker
    /// of the library's waiting engine, runs `body` on that worker and releases the
    /// lock there — the thread that took it. Throws `CancellationError` when the
    /// task is cancelled before the lock is taken (nothing is then held; a body
    /// that has started runs to its end), `ETIMEDOUT` at `deadline`, and what
    /// `lockShared` throws. The corresponding C functions are
    /// `pthread_rwlock_clockrdlock` and `pthread_rwlock_unlock`.
    public func withSharedLockAsync<R: Sendable>(
        until deadline: Deadline = .distantFuture, _ body: @escaping @Sendable () throws -> R
    ) async throws -> R {
        let operations = self.operations
        let wait = ReadWriteLockWait(deadline: deadline, interruptible: true)
        return try await Self.onWorker(operations, { operations.acquireShared(wait, "pthread_rwlock_clockrdlock") }) { slot in
            try MappedReadWriteLock.sharedLocked(operations, slot, body)
        }
    }

    /// The async form of `withExclusiveLock`: takes the lock exclusively on a
    /// worker of the waiting engine, runs `repair` (after a writer's death) and
    /// `body` there, and releases the lock on that same thread. Throws
    /// `CancellationError` when the task is cancelled before the lock is taken
    /// (nothing is then held), `ETIMEDOUT` at `deadline`, and what `lockExclusive`
    /// throws. The corresponding C functions are `pthread_rwlock_clockwrlock` and
    /// `pthread_rwlock_unlock`.
    public func withExclusiveLockAsync<R: Sendable>(
        until deadline: Deadline = .distantFuture,
        ifOwnerDied repair: @escaping @Sendable (_ pid: Int32?) throws -> Void,
        _ body: @escaping @Sendable () throws -> R
    ) async throws -> R {
        let operations = self.operations
        let wait = ReadWriteLockWait(deadline: deadline, interruptible: true)
        return try await Self.onWorker(operations, { operations.acquireExclusive(wait, "pthread_rwlock_clockwrlock") }) { acquisition in
            try MappedReadWriteLock.exclusiveLocked(operations, acquisition, repair, body)
        }
    }

    /// Takes the lock with `acquire` on a worker of the waiting engine (again after
    /// an interruption that was not the task's cancellation: an interrupted
    /// acquisition holds nothing) and runs `held` there.
    private static func onWorker<Taken, R: Sendable>(
        _ operations: ReadWriteLockOperations, _ acquire: @escaping @Sendable () -> ReadWriteLockStep<Taken>,
        _ held: @escaping @Sendable (Taken) throws -> R
    ) async throws -> R {
        try Task.checkCancellation()
        let result = try await WaitingEngine.wait { () -> Result<R, any Error>? in
            switch acquire() {
            case .interrupted: return nil
            case .busy: return .failure(timedOut(operations))
            case .failed(let error): return .failure(error)
            case .done(let taken): return Result { try held(taken) }
            }
        }
        guard let result else { throw timedOut(operations) }
        return try result.get()
    }

    private static func timedOut(_ operations: ReadWriteLockOperations) -> IPCError {
        IPCError(.timedOut, operation: "pthread_rwlock_clocklock", object: operations.object,
                 detail: "the lock was not free before the deadline")
    }
}
