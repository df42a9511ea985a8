#if canImport(Glibc)
import Glibc
#endif

/// A mutex that lives inside shared memory, so the threads of every process
/// mapping that memory can take it in turn, and that survives its owner's death
/// (SPEC Y4, Y5).
///
/// Named like `MappedSemaphore`: an object *placed in a mapping* by a
/// `SharedLayout` (`mutex(kind:)`), initialised once by `PlacedMapping.create`
/// and lent by `PlacedMapping.withMutex(_:)`, so it cannot outlive the mapping.
/// Underneath it is glibc's robust process-shared `pthread_mutex_t`
/// (`PTHREAD_MUTEX_ROBUST`, `PTHREAD_PROCESS_SHARED`): the kernel walks a dying
/// thread's robust list and marks every mutex it held, so a process `SIGKILL`ed
/// while holding the lock never leaves the others waiting. Waiting is the
/// library's own futex wait on glibc's lock word, so it is bounded by deadlines
/// and cancellable (Synchronization/README.md, "Mutex").
///
/// ```swift
/// var layout = try SharedLayout(type: "counter", version: 1)
/// let lock = try layout.mutex(kind: .errorChecking)
/// let count = try layout.atomic(UInt64.self)
/// let placed = try PlacedMapping.create(layout, in: PosixSharedMemory.create("/counter", size: layout.size).map())
/// try placed.withMutex(lock) { mutex in
///     try mutex.withLock(ifOwnerDied: { _ in /* repair */ }) { /* use the data */ }
/// }
/// ```
///
/// **Owner death.** When the holder dies, the next locker gets the lock *and*
/// `.previousOwnerDied(pid:)`: it repairs the data and calls `markConsistent()`
/// before `unlock()`. Unlocked without that, the mutex is not recoverable: every
/// later lock throws `ENOTRECOVERABLE`.
///
/// **Threads.** The lock belongs to the thread that took it, and only that thread
/// may release it (`EPERM` otherwise). So there is no async `lock()`: the async
/// form `withLockAsync` takes the lock on a worker of the waiting engine and runs
/// its synchronous body there, then releases it on the same thread.
public struct MappedMutex: ~Copyable, @unchecked Sendable {
    let operations: MutexOperations

    init(_ operations: MutexOperations) { self.operations = operations }

    /// What a thread that relocks a mutex it holds, or unlocks one it does not,
    /// meets (SPEC Y4; the table in Synchronization/README.md, "Mutex kinds").
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// `PTHREAD_MUTEX_NORMAL`: relocking deadlocks (`tryLock` says false, a
        /// time-bounded lock times out); unlocking when not the owner is `EPERM`.
        case normal = 1
        /// `PTHREAD_MUTEX_ERRORCHECK`: relocking is `EDEADLK`; a wrong unlock `EPERM`.
        case errorChecking = 2
        /// `PTHREAD_MUTEX_RECURSIVE`: the owner may lock again and unlocks as many
        /// times; a wrong unlock `EPERM`.
        case recursive = 3
        /// `PTHREAD_MUTEX_DEFAULT`, which glibc makes a normal mutex.
        case `default` = 4

        var pthreadType: CInt {
            switch self {
            case .normal: CInt(PTHREAD_MUTEX_NORMAL)
            case .errorChecking: CInt(PTHREAD_MUTEX_ERRORCHECK)
            case .recursive: CInt(PTHREAD_MUTEX_RECURSIVE)
            case .default: CInt(PTHREAD_MUTEX_DEFAULT)
            }
        }
    }

    /// How the lock was taken.
    public enum Acquisition: Equatable, Sendable {
        /// From a live owner, or free.
        case acquired
        /// From a process that died holding it (its pid when known): the data it
        /// protects may be half-changed. Repair it and call `markConsistent()`
        /// before `unlock()`, or the mutex becomes not recoverable.
        case previousOwnerDied(pid: Int32?)
    }

    /// The kind this mutex was made with (read from its memory; nil when that was
    /// overwritten).
    public var kind: Kind? { operations.kind }

    /// Takes the lock, waiting as long as it takes. `EDEADLK` when this thread
    /// holds an error-checking mutex already, `ENOTRECOVERABLE` (see the type).
    /// The corresponding C function is `pthread_mutex_lock`.
    public func lock() throws(IPCError) -> Acquisition {
        try operations.acquire(until: .distantFuture, interruptible: false)!.get()
    }

    /// Takes the lock if it is free; nil when another thread holds it (and for a
    /// normal mutex this thread holds). The corresponding C function is
    /// `pthread_mutex_trylock`.
    public func tryLock() throws(IPCError) -> Acquisition? {
        try operations.attempt(slept: false)?.get()
    }

    /// Takes the lock, waiting at most until `deadline`: `ETIMEDOUT` when it was not
    /// free in time (never a false result). The corresponding C function is
    /// `pthread_mutex_clocklock` on `CLOCK_MONOTONIC`; here a futex wait with the
    /// kernel's own timeout.
    public func lock(until deadline: Deadline) throws(IPCError) -> Acquisition {
        try operations.acquire(until: deadline, interruptible: false)!.get()
    }

    /// `lock(until:)` with a deadline `timeout` from now.
    public func lock(timeout: Duration) throws(IPCError) -> Acquisition {
        try lock(until: .after(timeout))
    }

    /// Releases the lock (one level of a recursive mutex). `EPERM` when this
    /// thread does not hold it, or nobody does. The corresponding C function is
    /// `pthread_mutex_unlock`.
    public func unlock() throws(IPCError) { try operations.release() }

    /// After `.previousOwnerDied`, declares the protected data repaired, so the
    /// mutex stays usable. `EINVAL` when the owner did not die, or this thread is
    /// not the one that took the lock. The corresponding C function is
    /// `pthread_mutex_consistent`.
    public func markConsistent() throws(IPCError) { try operations.markConsistent() }

    /// Runs `body` holding the lock and releases it after, whatever `body` does.
    /// When the previous owner died, `repair` runs first (with the lock held and
    /// the dead pid when known); when it returns the mutex is marked consistent,
    /// when it throws the lock is released unrepaired (the mutex is then not
    /// recoverable) and the error goes on.
    public func withLock<R>(ifOwnerDied repair: (_ pid: Int32?) throws -> Void, _ body: () throws -> R) throws -> R {
        try Self.locked(operations, try lock(), repair, body)
    }

    /// Like `withLock(ifOwnerDied:_:)`, waiting at most until `deadline` for the
    /// lock (`ETIMEDOUT`).
    public func withLock<R>(until deadline: Deadline, ifOwnerDied repair: (_ pid: Int32?) throws -> Void,
                            _ body: () throws -> R) throws -> R {
        try Self.locked(operations, try lock(until: deadline), repair, body)
    }

    /// The async form of `withLock`: suspends the task (never blocking a thread of
    /// the cooperative pool) until the lock is taken on a worker of the library's
    /// waiting engine, then runs `repair` (after an owner's death) and `body` on
    /// that worker, and releases the lock there — the thread that took it.
    /// Throws `CancellationError` when the task is cancelled before the lock is
    /// taken (never after: the body then runs to its end), `ETIMEDOUT` at `deadline`.
    public func withLockAsync<R: Sendable>(
        until deadline: Deadline = .distantFuture,
        ifOwnerDied repair: @escaping @Sendable (_ pid: Int32?) throws -> Void,
        _ body: @escaping @Sendable () throws -> R
    ) async throws -> R {
        try await Self.withLockAsync(operations, until: deadline, ifOwnerDied: repair, body)
    }

    static func withLockAsync<R: Sendable>(
        _ operations: MutexOperations, until deadline: Deadline,
        ifOwnerDied repair: @escaping @Sendable (_ pid: Int32?) throws -> Void,
        _ body: @escaping @Sendable () throws -> R
    ) async throws -> R {
        try Task.checkCancellation()
        let result = try await WaitingEngine.wait { () -> Result<R, any Error>? in
            guard let acquired = operations.acquire(until: deadline, interruptible: true) else { return nil }
            switch acquired {
            case .failure(let error): return .failure(error)
            case .success(let acquisition):
                return Result { try locked(operations, acquisition, repair, body) }
            }
        }
        guard let result else {
            throw IPCError(.timedOut, operation: "pthread_mutex_clocklock", object: operations.object,
                           detail: "the lock was not free before the deadline")
        }
        return try result.get()
    }

    /// With the lock taken as `acquisition`: repair, body, release.
    static func locked<R>(_ operations: MutexOperations, _ acquisition: Acquisition,
                          _ repair: (_ pid: Int32?) throws -> Void, _ body: () throws -> R) throws -> R {
        try acquisition.holding(repair: repair, markConsistent: operations.markConsistent, release: operations.release, body)
    }
}

extension MappedMutex.Acquisition {
    /// With a lock taken as `self`: after an owner's death `repair`, then
    /// `markConsistent`; then `body`; then `release`, whatever throws (a repair
    /// that throws releases the lock unrepaired, and the error goes on). The
    /// scoped forms of every lock with owner death share it.
    func holding<R>(repair: (_ pid: Int32?) throws -> Void, markConsistent: () throws -> Void,
                    release: () throws -> Void, _ body: () throws -> R) throws -> R {
        if case .previousOwnerDied(let pid) = self {
            do {
                try repair(pid)
                try markConsistent()
            } catch {
                try? release()
                throw error
            }
        }
        let result: R
        do { result = try body() } catch {
            try? release()
            throw error
        }
        try release()
        return result
    }
}

extension PlacedMapping {
    /// Lends `body` the robust process-shared mutex at `place`. Throws `EINVAL` for a
    /// place of another layout, `EACCES` for a mapping that is not readable and writable.
    public func withMutex<R>(_ place: SharedPlace<MappedMutex>, _ body: (borrowing MappedMutex) throws -> R) throws -> R {
        try layout.check(place, .mutex, operation: "withMutex")
        let start = try mapping.placedObjectAddress("withMutex", place, alignment: MutexOperations.alignment)
        let result: R
        do { result = try body(MappedMutex(MutexOperations(start, object: mapping.label))) } catch {
            try mapping.checkAfterAccess("withMutex")
            throw error
        }
        try mapping.checkAfterAccess("withMutex")
        return result
    }

    /// Lends `body` the mutex at `place` for async use (`withLockAsync`).
    public func withMutex<R>(_ place: SharedPlace<MappedMutex>, _ body: (borrowing MappedMutex) async throws -> R) async throws -> R {
        try layout.check(place, .mutex, operation: "withMutex")
        let start = try mapping.placedObjectAddress("withMutex", place, alignment: MutexOperations.alignment)
        let result: R
        do { result = try await body(MappedMutex(MutexOperations(start, object: mapping.label))) } catch {
            try mapping.checkAfterAccess("withMutex")
            throw error
        }
        try mapping.checkAfterAccess("withMutex")
        return result
    }
}

extension MemoryMapping {
    /// The start of a placed synchronization object: checked in range, aligned, and
    /// in a readable and writable mapping.
    func placedObjectAddress<Object: ~Copyable>(_ operation: String, _ place: SharedPlace<Object>, alignment: Int) throws(IPCError) -> UnsafeMutableRawPointer {
        if !protection.contains(.readWrite) {
            throw IPCError(.permissionDenied, operation: operation, object: label,
                           detail: "a lock needs a readable and writable mapping")
        }
        let start = try address(operation, offset: place.offset, count: place.size, writing: true)
        if place.offset % alignment != 0 {
            throw IPCError(.invalidArgument, operation: operation, object: label,
                           detail: "offset \(place.offset) is not aligned for a lock (a multiple of \(alignment))")
        }
        return start
    }
}
