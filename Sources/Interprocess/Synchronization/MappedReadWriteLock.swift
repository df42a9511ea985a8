#if canImport(Glibc)
import Glibc
#endif

/// A read–write lock in shared memory that survives a holder's death (SPEC Y6):
/// many readers at once (*shared*) or one writer (*exclusive*), for the threads
/// of every process mapping the memory — or of one process, in anonymous shared
/// memory.
///
/// Placed like `MappedMutex`: a `SharedLayout` hands out the place
/// (`readWriteLock(preferring:maximumReaders:)`), `PlacedMapping.create`
/// initialises it once, `PlacedMapping.withReadWriteLock(_:_:)` lends it.
///
/// ```swift
/// var layout = try SharedLayout(type: "table", version: 1)
/// let lock = try layout.readWriteLock()
/// let rows = try layout.bytes(count: 4096)
/// let placed = try PlacedMapping.create(layout, in: PosixSharedMemory.create("/table", size: layout.size).map())
/// try placed.withReadWriteLock(lock) { lock in
///     let copy = try lock.withSharedLock { try placed.read(count: 16, from: rows) }
///     try lock.withExclusiveLock(ifOwnerDied: { _ in /* repair the rows */ }) { /* change the rows */ }
/// }
/// ```
///
/// **Why not `pthread_rwlock_t`.** glibc's process-shared read–write lock is not
/// robust: a holder killed while holding it leaves it held, and every later
/// locker waits for ever. This lock is made of glibc's robust mutexes
/// (`MappedMutex`'s), whose owner's death the kernel reports: a *gate* and
/// `maximumReaders` reader *slots*. A reader holds one slot; a writer holds the
/// gate and every slot (Synchronization/README.md, "Read–write lock").
///
/// **Holder death.** A dead reader is simply gone: its slot is freed, nothing
/// else changes. A writer that dies (or calls `exec`) in its exclusive section
/// may have left the data half-changed: from then on every reader's lock throws
/// `EOWNERDEAD` naming the dead pid, and the next writer's lock returns
/// `.previousOwnerDied(pid:)`: it repairs the data and calls `markConsistent()`
/// before `unlockExclusive()`, after which readers get in again. Unlocked
/// without that, the lock is not recoverable: every later lock throws
/// `ENOTRECOVERABLE`. Never a hang.
///
/// **Threads.** Like a robust mutex, a hold belongs to the thread that took it,
/// so the async forms (`withSharedLockAsync`, `withExclusiveLockAsync`) take the
/// lock on a worker of the waiting engine and run their synchronous body there.
public struct MappedReadWriteLock: ~Copyable, @unchecked Sendable {
    let operations: ReadWriteLockOperations

    init(_ operations: ReadWriteLockOperations) { self.operations = operations }

    /// Who goes first when readers hold the lock and a writer waits.
    public enum Preference: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// A new reader waits behind a waiting writer (glibc's
        /// `PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`): writers are not starved,
        /// but a thread that takes the lock shared again while a writer waits
        /// deadlocks (use the time-bounded forms to escape).
        case writers = 1
        /// A new reader gets in while any reader holds the lock (glibc's default,
        /// `PTHREAD_RWLOCK_PREFER_READER_NP`): recursive reads are safe and readers
        /// skip the gate, but a stream of readers can starve a writer.
        case readers = 2

        public var description: String { self == .writers ? "writers" : "readers" }
    }

    /// How the exclusive lock was taken: `.previousOwnerDied(pid:)` names a writer
    /// that died in its exclusive section.
    public typealias Acquisition = MappedMutex.Acquisition

    /// The preference the lock was made with.
    public var preference: Preference { operations.preference }
    /// How many threads can hold the lock shared at once; more wait for a slot.
    public var maximumReaders: Int { operations.slotCount }

    // MARK: shared

    /// Takes the lock shared, waiting as long as it takes. Throws `EOWNERDEAD`
    /// (naming the pid) while a writer that died holding the lock has not been
    /// repaired, `ENOTRECOVERABLE`, `EDEADLK` when this thread holds it
    /// exclusively, `EAGAIN` when it holds every reader slot already. The
    /// corresponding C function is `pthread_rwlock_rdlock`.
    public func lockShared() throws(IPCError) {
        _ = try operations.acquireShared(.until(.distantFuture), "pthread_rwlock_rdlock").get()
    }

    /// Takes the lock shared if that needs no wait: false when a writer holds it
    /// (or, preferring writers, waits for it) or every slot is taken. The
    /// corresponding C function is `pthread_rwlock_tryrdlock`.
    public func tryLockShared() throws(IPCError) -> Bool {
        try operations.acquireShared(.attempt, "pthread_rwlock_tryrdlock").get() != nil
    }

    /// Takes the lock shared, waiting at most until `deadline`: `ETIMEDOUT` then,
    /// with nothing held. The corresponding C function is
    /// `pthread_rwlock_clockrdlock` on `CLOCK_MONOTONIC`.
    public func lockShared(until deadline: Deadline) throws(IPCError) {
        _ = try operations.acquireShared(.until(deadline), "pthread_rwlock_clockrdlock").get()
    }

    /// `lockShared(until:)` with a deadline `timeout` from now.
    public func lockShared(timeout: Duration) throws(IPCError) {
        try lockShared(until: .after(timeout))
    }

    /// Releases one shared hold of this thread. `EPERM` when it holds none (or
    /// holds the lock exclusively). The corresponding C function is
    /// `pthread_rwlock_unlock`.
    public func unlockShared() throws(IPCError) { try operations.releaseShared() }

    // MARK: exclusive

    /// Takes the lock exclusively, waiting as long as it takes. Returns
    /// `.previousOwnerDied(pid:)` when a writer died holding it: repair, then
    /// `markConsistent()`. Throws `EDEADLK` when this thread holds the lock
    /// (exclusively, or shared: there is no upgrade), `ENOTRECOVERABLE`. The
    /// corresponding C function is `pthread_rwlock_wrlock`.
    public func lockExclusive() throws(IPCError) -> Acquisition {
        try operations.acquireExclusive(.until(.distantFuture), "pthread_rwlock_wrlock").get()!
    }

    /// Takes the lock exclusively if that needs no wait; nil when anyone holds it.
    /// The corresponding C function is `pthread_rwlock_trywrlock`.
    public func tryLockExclusive() throws(IPCError) -> Acquisition? {
        try operations.acquireExclusive(.attempt, "pthread_rwlock_trywrlock").get()
    }

    /// Takes the lock exclusively, waiting at most until `deadline`: `ETIMEDOUT`
    /// then, with nothing held. The corresponding C function is
    /// `pthread_rwlock_clockwrlock` on `CLOCK_MONOTONIC`.
    public func lockExclusive(until deadline: Deadline) throws(IPCError) -> Acquisition {
        try operations.acquireExclusive(.until(deadline), "pthread_rwlock_clockwrlock").get()!
    }

    /// `lockExclusive(until:)` with a deadline `timeout` from now.
    public func lockExclusive(timeout: Duration) throws(IPCError) -> Acquisition {
        try lockExclusive(until: .after(timeout))
    }

    /// Releases the exclusive lock. `EPERM` when this thread does not hold it
    /// exclusively. After `.previousOwnerDied` without `markConsistent()`, the lock
    /// becomes not recoverable. The corresponding C function is
    /// `pthread_rwlock_unlock`.
    public func unlockExclusive() throws(IPCError) { try operations.releaseExclusive() }

    /// After `.previousOwnerDied`, with the lock held exclusively, declares the
    /// data repaired: readers get in again. `EINVAL` when no writer died or this
    /// thread does not hold the lock exclusively. (C has no such call for a
    /// read–write lock; it is `pthread_mutex_consistent`'s.)
    public func markConsistent() throws(IPCError) { try operations.markConsistent() }
}

extension ReadWriteLockStep {
    /// The value, nil for `busy`; throws the failure. (`interrupted` comes only
    /// from an interruptible wait, which the synchronous calls never make.)
    func get() throws(IPCError) -> Value? {
        switch self {
        case .done(let value): return value
        case .busy, .interrupted: return nil
        case .failed(let error): throw error
        }
    }
}

extension SharedLayout {
    /// Places a crash-safe read–write lock (SPEC Y6) preferring `preference`, for
    /// at most `maximumReaders` readers at once (1...1024, else `EINVAL`; each takes
    /// a 64-byte reader slot). `PlacedMapping.create` initialises it; use it with
    /// `PlacedMapping.withReadWriteLock(_:_:)`.
    public mutating func readWriteLock(preferring preference: MappedReadWriteLock.Preference = .writers,
                                       maximumReaders: Int = 16) throws(IPCError) -> SharedPlace<MappedReadWriteLock> {
        guard ReadWriteLockConfiguration.slotRange.contains(maximumReaders) else {
            throw IPCError(.invalidArgument, operation: "SharedLayout.readWriteLock", object: "\"\(type)\"",
                           detail: "maximumReaders is 1 to \(ReadWriteLockConfiguration.slotRange.upperBound), not \(maximumReaders)")
        }
        let configuration = ReadWriteLockConfiguration(preference: preference, slots: maximumReaders)
        return try add(.readWriteLock, size: ReadWriteLockOperations.size(slots: maximumReaders),
                       alignment: ReadWriteLockOperations.alignment, initialValue: UInt64(configuration.word))
    }
}

extension PlacedMapping {
    /// Lends `body` the read–write lock at `place`. Throws `EINVAL` for a place of
    /// another layout, `EACCES` for a mapping that is not readable and writable.
    public func withReadWriteLock<R>(_ place: SharedPlace<MappedReadWriteLock>,
                                     _ body: (borrowing MappedReadWriteLock) throws -> R) throws -> R {
        let lock = try readWriteLock(place)
        let result: R
        do { result = try body(lock) } catch {
            try mapping.checkAfterAccess("withReadWriteLock")
            throw error
        }
        try mapping.checkAfterAccess("withReadWriteLock")
        return result
    }

    /// Lends `body` the read–write lock at `place` for async use
    /// (`withSharedLockAsync`, `withExclusiveLockAsync`).
    public func withReadWriteLock<R>(_ place: SharedPlace<MappedReadWriteLock>,
                                     _ body: (borrowing MappedReadWriteLock) async throws -> R) async throws -> R {
        let lock = try readWriteLock(place)
        let result: R
        do { result = try await body(lock) } catch {
            try mapping.checkAfterAccess("withReadWriteLock")
            throw error
        }
        try mapping.checkAfterAccess("withReadWriteLock")
        return result
    }

    private func readWriteLock(_ place: SharedPlace<MappedReadWriteLock>) throws(IPCError) -> MappedReadWriteLock {
        try layout.check(place, .readWriteLock, operation: "withReadWriteLock")
        guard let configuration = ReadWriteLockConfiguration(word: layout.parts[place.index].initialValue) else {
            throw IPCError(.invalidArgument, operation: "withReadWriteLock", object: mapping.label, detail: "not a read-write lock's place")
        }
        let start = try mapping.placedObjectAddress("withReadWriteLock", place, alignment: ReadWriteLockOperations.alignment)
        return MappedReadWriteLock(ReadWriteLockOperations(start, configuration: configuration, object: mapping.label))
    }
}
