#if canImport(Glibc)
import Glibc
#endif

extension MappedMutex {
    /// The async condition wait (SPEC Y4): suspends the task — never blocking a
    /// thread of the cooperative pool — until, on a worker of the library's waiting
    /// engine, this mutex is held and `predicate` holds, waiting on `condition`
    /// between checks; then runs `body` there and releases the mutex on that same
    /// thread. The mutex belongs to the thread that took it, so the lock, the waits
    /// and the body all run on the worker, and none of it on the task's thread.
    ///
    /// `repair` runs (with the lock held) whenever taking the lock found its owner
    /// dead, then the mutex is marked consistent. Throws `CancellationError` when
    /// the task is cancelled while waiting (the mutex is then not held), and
    /// `ETIMEDOUT` when `deadline` passed with the predicate still false. The
    /// corresponding C functions are `pthread_mutex_lock`, `pthread_cond_wait` and
    /// `pthread_mutex_unlock`.
    public func withLockAsync<R: Sendable>(
        when condition: borrowing MappedCondition,
        until predicate: @escaping @Sendable () throws -> Bool,
        deadline: Deadline = .distantFuture,
        ifOwnerDied repair: @escaping @Sendable (_ pid: Int32?) throws -> Void,
        _ body: @escaping @Sendable () throws -> R
    ) async throws -> R {
        try Task.checkCancellation()
        let operations = self.operations
        let sequence = UInt(bitPattern: condition.sequence), object = condition.object
        let result = try await WaitingEngine.wait { () -> Result<R, any Error>? in
            let condition = MappedCondition(UnsafeMutableRawPointer(bitPattern: sequence)!, object: object)
            var acquisition: Acquisition
            switch operations.acquire(until: .distantFuture, interruptible: true) {
            case nil: return nil
            case .failure(let error)?: return .failure(error)
            case .success(let taken)?: acquisition = taken
            }
            while true {
                if case .previousOwnerDied(let pid) = acquisition {
                    do {
                        try repair(pid)
                        try operations.markConsistent()
                    } catch {
                        try? operations.release()
                        return .failure(error)
                    }
                    acquisition = .acquired
                }
                do {
                    if try predicate() { return Result { try MappedMutex.locked(operations, .acquired, { _ in }, body) } }
                } catch {
                    try? operations.release()
                    return .failure(error)
                }
                let seen = condition.enterWait()
                do { try operations.release() } catch { return .failure(error) }
                let slept = condition.sleep(seen, deadline, interruptible: true)
                switch slept {
                case nil: return nil
                case .failure(let error)?: return .failure(error)
                case .success(let expired)?:
                    switch operations.acquire(until: .distantFuture, interruptible: !expired) {
                    case nil: return nil
                    case .failure(let error)?: return .failure(error)
                    case .success(let taken)?: acquisition = taken
                    }
                    if expired, acquisition == .acquired {
                        let holds = Result { try predicate() }
                        if case .success(true) = holds {
                            return Result { try MappedMutex.locked(operations, .acquired, { _ in }, body) }
                        }
                        try? operations.release()
                        if case .failure(let error) = holds { return .failure(error) }
                        return .failure(condition.timedOut())
                    }
                }
            }
        }
        guard let result else { throw condition.timedOut() }
        return try result.get()
    }
}
