import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// The exclusive side of the read–write lock (SPEC Y6): a writer takes the gate,
// then every reader slot, then the writer word; it releases in the opposite
// order, and leaves the lock not recoverable when it was told of a dead writer
// and did not repair.

extension ReadWriteLockOperations {
    /// Takes the lock exclusively: the gate (which writers take in turn), then
    /// every slot, then the writer word.
    func acquireExclusive(_ wait: ReadWriteLockWait, _ operation: String) -> ReadWriteLockStep<MappedMutex.Acquisition> {
        if let error = checkConfiguration(operation) { return .failed(error) }
        let me = Self.currentThread
        if owner(of: gate) == me { return .failed(heldExclusively(operation)) }
        if heldSlot(me) != nil {
            return .failed(IPCError(.deadlock, operation: operation, object: object,
                                    detail: "this thread holds the lock shared; a read lock cannot be upgraded: release it first"))
        }
        switch take(gate, wait) {
        case .done: break
        case .busy: return .busy
        case .interrupted: return .interrupted
        case .failed(let error): return .failed(relabel(error, operation))
        }
        let slots = preference == .writers ? takeSlotsInOrder(wait) : takeSlotsWhenAllFree(wait)
        guard case .done = slots else {
            _ = releaseTaken(slots: 0)
            switch slots {
            case .done, .busy: return .busy
            case .interrupted: return .interrupted
            case .failed(let error): return .failed(relabel(error, operation))
            }
        }
        let flags = flagsWord.pointee.load(ordering: .acquiring)
        let dead = deadWriterWord.pointee.load(ordering: .acquiring)
        if flags != 0 || dead > MutexOperations.threadMask {
            releaseTaken(slots: slotCount)
            return .failed(flags == Self.notRecoverableFlag ? notRecoverable(operation) : overwritten(operation))
        }
        writerWord.pointee.store(UInt32(bitPattern: cipc_cached_pid()), ordering: .releasing)
        return .done(dead == 0 ? .acquired : .previousOwnerDied(pid: Int32(dead)))
    }

    /// Preferring writers: every slot in order, each held while waiting for the
    /// next (new readers wait at the gate anyway). On failure nothing is held.
    private func takeSlotsInOrder(_ wait: ReadWriteLockWait) -> ReadWriteLockStep<Void> {
        for index in 0..<slotCount {
            let step = take(slot(index), wait)
            if case .done = step { continue }
            releaseSlots(below: index)
            return step
        }
        return .done(())
    }

    /// Preferring readers: tries every slot; at a busy one, gives back those taken
    /// and waits, holding nothing but the gate, until that reader leaves, then
    /// tries again. So a waiting writer keeps no reader out (and may starve). On
    /// failure nothing is held.
    private func takeSlotsWhenAllFree(_ wait: ReadWriteLockWait) -> ReadWriteLockStep<Void> {
        while true {
            var busy: Int?
            for index in 0..<slotCount {
                switch take(slot(index), .attempt) {
                case .done: continue
                case .busy: busy = index
                case .failed(let error):
                    releaseSlots(below: index)
                    return .failed(error)
                case .interrupted: return .interrupted
                }
                break
            }
            guard let busy else { return .done(()) }
            releaseSlots(below: busy)
            if wait.deadline == nil { return .busy }
            let step = take(slot(busy), wait)
            guard case .done = step else { return step }
            do throws(IPCError) { try slot(busy).release() } catch { return .failed(error) }
        }
    }

    /// Releases the exclusive lock. A writer that was told of a dead one and did
    /// not mark the lock consistent leaves it not recoverable.
    func releaseExclusive() throws(IPCError) {
        let operation = "pthread_rwlock_unlock"
        if let error = checkConfiguration(operation) { throw error }
        guard holdsExclusively(Self.currentThread) else {
            throw IPCError(.notPermitted, operation: operation, object: object, detail: "this thread does not hold the lock exclusively")
        }
        if deadWriterWord.pointee.load(ordering: .relaxed) != 0 {
            flagsWord.pointee.bitwiseOr(Self.notRecoverableFlag, ordering: .relaxed)
        }
        writerWord.pointee.store(0, ordering: .releasing)
        if let error = releaseTaken(slots: slotCount) { throw relabel(error, operation) }
    }

    /// Declares the data repaired after a dead writer.
    func markConsistent() throws(IPCError) {
        let operation = "pthread_mutex_consistent"
        if let error = checkConfiguration(operation) { throw error }
        guard holdsExclusively(Self.currentThread) else {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "only the thread holding the lock exclusively can mark it consistent")
        }
        if deadWriterWord.pointee.load(ordering: .relaxed) == 0 {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "no writer died holding the lock (or it was marked consistent already)")
        }
        deadWriterWord.pointee.store(0, ordering: .releasing)
    }

    /// Releases slots `count-1` down to 0, then the gate; every one is released even
    /// when one fails, and the first failure is returned.
    @discardableResult
    private func releaseTaken(slots count: Int) -> IPCError? {
        var first = releaseSlots(below: count)
        do { try gate.release() } catch { first = first ?? error }
        return first
    }

    /// Releases slots `count-1` down to 0, every one even when one fails; the first
    /// failure.
    @discardableResult
    private func releaseSlots(below count: Int) -> IPCError? {
        var first: IPCError?
        for index in (0..<count).reversed() {
            do { try slot(index).release() } catch { first = first ?? error }
        }
        return first
    }
}
