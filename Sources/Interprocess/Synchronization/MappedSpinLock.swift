import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A spin lock in shared memory that survives its holder's death (SPEC Y7): the
/// library's crash-safe counterpart of `pthread_spin_lock`, `pthread_spin_trylock`
/// and `pthread_spin_unlock` with `PTHREAD_PROCESS_SHARED`.
///
/// Placed by a `SharedLayout` (`spinLock()`) and lent by
/// `PlacedMapping.withSpinLock(_:_:)`, like `MappedMutex`. It is one 64-bit word:
/// 0 when free, else the holder's pid (high half) and thread id (low half), taken
/// with one compare-and-swap — there is no moment when the lock is held and its
/// holder unknown. A waiter spins (with the processor's pause hint) and, every
/// few thousand turns, yields the processor and checks that the holder still
/// lives (`tgkill(pid, tid, 0)`, and `/proc` for a zombie not yet reaped). A dead
/// holder's lock is taken over with one compare-and-swap from the word that names
/// it — only one taker wins — and the taker is told `.previousOwnerDied(pid:)`.
///
/// ```swift
/// var layout = try SharedLayout(type: "stats", version: 1)
/// let lock = try layout.spinLock()
/// let placed = try PlacedMapping.create(layout, in: PosixSharedMemory.create("/stats", size: layout.size).map())
/// try placed.withSpinLock(lock) { spin in
///     try spin.withLock(ifOwnerDied: { _ in /* repair */ }) { /* a few instructions */ }
/// }
/// ```
///
/// **Owner death** is told, never hidden, and needs no consistent-marking step:
/// the taker repairs before it unlocks (`withLock(ifOwnerDied:_:)` makes the
/// repair an argument; when the repair throws, the lock goes back to the dead
/// holder's word, so the next locker is told again).
///
/// **No async form.** A spin lock guards a few instructions and is held by a
/// thread; a task that could suspend while holding it would make every other
/// locker spin. Async code uses `MappedMutex.withLockAsync`.
///
/// **Limits.** One PID namespace (the word holds pid and thread id as this
/// process sees them). A holder that died and whose pid *and* thread id were
/// both reused by a live thread before anyone checked is taken for alive: its
/// lock stays held, and time-bounded locks time out (Synchronization/README.md,
/// "Spin lock").
public struct MappedSpinLock: ~Copyable, @unchecked Sendable {
    let word: UnsafeMutablePointer<Atomic<UInt64>>
    let object: String

    static let size = 8
    static let alignment = 8
    /// Turns of the spin between two checks of the deadline and of the holder's life.
    static let spinsPerCheck = 4096

    init(_ start: UnsafeMutableRawPointer, object: String) {
        word = start.assumingMemoryBound(to: Atomic<UInt64>.self)
        self.object = object
    }

    /// The calling thread, as the word names it: the pid in the high 32 bits, the
    /// thread id in the low 32 (both cached, `cipc_cached_pid`/`cipc_cached_tid`).
    static var me: UInt64 {
        UInt64(UInt32(bitPattern: cipc_cached_pid())) << 32 | UInt64(UInt32(bitPattern: cipc_cached_tid()))
    }

    /// Takes the lock, spinning as long as it takes. `.previousOwnerDied(pid:)` when
    /// it was taken from a dead holder (`nil`: the word named no valid thread).
    /// `EDEADLK` when this thread holds it already. The corresponding C function is
    /// `pthread_spin_lock`.
    public func lock() throws(IPCError) -> MappedMutex.Acquisition {
        try spin(attempts: .max, until: .distantFuture)!.acquisition
    }

    /// Takes the lock if it is free or its holder is dead; nil when a live thread
    /// holds it. `EDEADLK` when that is this thread. The corresponding C function
    /// is `pthread_spin_trylock`.
    public func tryLock() throws(IPCError) -> MappedMutex.Acquisition? {
        try spin(attempts: 1, until: .distantFuture)?.acquisition
    }

    /// The bounded spin: at most `spins` attempts (at least 1, else `EINVAL`), then
    /// nil when a live thread still holds the lock.
    public func tryLock(spins: Int) throws(IPCError) -> MappedMutex.Acquisition? {
        if spins < 1 {
            throw IPCError(.invalidArgument, operation: "pthread_spin_trylock", object: object,
                           detail: "a bounded spin makes at least 1 attempt (asked for \(spins))")
        }
        return try spin(attempts: spins, until: .distantFuture)?.acquisition
    }

    /// Spins for the lock until `deadline`, then throws `ETIMEDOUT` (never a nil
    /// result). POSIX has no timed spin lock; this is the API rules' bounded form.
    public func lock(until deadline: Deadline) throws(IPCError) -> MappedMutex.Acquisition {
        guard let taken = try spin(attempts: .max, until: deadline) else {
            throw IPCError(.timedOut, operation: "pthread_spin_lock", object: object,
                           detail: "the lock was not free before the deadline")
        }
        return taken.acquisition
    }

    /// `lock(until:)` with a deadline `timeout` from now.
    public func lock(timeout: Duration) throws(IPCError) -> MappedMutex.Acquisition {
        try lock(until: .after(timeout))
    }

    /// Releases the lock. `EPERM` when this thread does not hold it, or nobody
    /// does. The corresponding C function is `pthread_spin_unlock`.
    public func unlock() throws(IPCError) { try release(leaving: 0) }

    /// Runs `body` holding the lock and releases it after, whatever `body` does.
    /// When the previous holder died, `repair` runs first (with the lock held and
    /// the dead pid when known); when it throws, the lock is handed back to the
    /// dead holder — the next locker is told again — and the error goes on.
    public func withLock<R>(ifOwnerDied repair: (_ pid: Int32?) throws -> Void, _ body: () throws -> R) throws -> R {
        let taken = try spin(attempts: .max, until: .distantFuture)!
        if case .previousOwnerDied(let pid) = taken.acquisition {
            do { try repair(pid) } catch {
                try? release(leaving: taken.deadHolder)
                throw error
            }
        }
        let result: R
        do { result = try body() } catch {
            try? unlock()
            throw error
        }
        try unlock()
        return result
    }

    // MARK: the protocol

    /// How the lock was taken, and the word of the dead holder it was taken from (0
    /// when it was free).
    struct Taken {
        var acquisition: MappedMutex.Acquisition
        var deadHolder: UInt64
    }

    /// Makes up to `attempts` attempts until `deadline`: the lock, or nil when a
    /// live thread still holds it. The holder's life (and the deadline) is checked
    /// every `spinsPerCheck` turns and at the last attempt — so `tryLock()` checks
    /// it, and a short wait for a live holder makes no system call.
    func spin(attempts: Int, until deadline: Deadline) throws(IPCError) -> Taken? {
        let me = Self.me
        var turn = 0
        while true {
            let seen = word.pointee.load(ordering: .relaxed)
            if seen == 0 {
                if word.pointee.compareExchange(expected: 0, desired: me, ordering: .acquiring).exchanged {
                    return Taken(acquisition: .acquired, deadHolder: 0)
                }
            } else if seen == me {
                throw IPCError(.deadlock, operation: "pthread_spin_lock", object: object,
                               detail: "this thread already holds the spin lock")
            } else if (turn > 0 && turn % Self.spinsPerCheck == 0) || turn + 1 >= attempts {
                if let taken = takeOver(seen, me) { return taken }
                if deadline != .distantFuture && deadline.hasPassed { return nil }
                if turn > 0 { sched_yield() }
            }
            turn += 1
            if turn >= attempts { return nil }
            cipc_cpu_relax()
        }
    }

    /// When `seen` names a thread that is not alive, takes the lock from it.
    private func takeOver(_ seen: UInt64, _ me: UInt64) -> Taken? {
        let pid = Self.validID(UInt32(truncatingIfNeeded: seen >> 32))
        let tid = Self.validID(UInt32(truncatingIfNeeded: seen))
        if let pid, let tid, system_thread_alive(pid, tid) != 0 { return nil }
        guard word.pointee.compareExchange(expected: seen, desired: me, ordering: .acquiringAndReleasing).exchanged else {
            return nil
        }
        return Taken(acquisition: .previousOwnerDied(pid: tid == nil ? nil : pid), deadHolder: seen)
    }

    /// A pid or thread id read from the word, when it can be one.
    static func validID(_ value: UInt32) -> Int32? {
        value > 0 && value <= UInt32(Int32.max) ? Int32(value) : nil
    }

    /// Gives the lock up, leaving `next` in the word (0: free; a dead holder's
    /// word: the next locker is told of that death).
    func release(leaving next: UInt64) throws(IPCError) {
        let me = Self.me
        let (exchanged, seen) = word.pointee.compareExchange(expected: me, desired: next, ordering: .releasing)
        if !exchanged {
            throw IPCError(.notPermitted, operation: "pthread_spin_unlock", object: object,
                           detail: seen == 0 ? "the spin lock is not locked" : "this thread does not hold the spin lock")
        }
    }
}

extension SharedLayout {
    /// Places a crash-safe spin lock (SPEC Y7), free at creation; use it with
    /// `PlacedMapping.withSpinLock(_:_:)`.
    public mutating func spinLock() throws(IPCError) -> SharedPlace<MappedSpinLock> {
        try add(.spinLock, size: MappedSpinLock.size, alignment: MappedSpinLock.alignment, initialValue: 0)
    }
}

extension PlacedMapping {
    /// Lends `body` the spin lock at `place`. Throws `EINVAL` for a place of another
    /// layout, `EACCES` for a mapping that is not readable and writable.
    public func withSpinLock<R>(_ place: SharedPlace<MappedSpinLock>, _ body: (borrowing MappedSpinLock) throws -> R) throws -> R {
        try layout.check(place, .spinLock, operation: "withSpinLock")
        let start = try mapping.placedObjectAddress("withSpinLock", place, alignment: MappedSpinLock.alignment)
        let result: R
        do { result = try body(MappedSpinLock(start, object: mapping.label)) } catch {
            try mapping.checkAfterAccess("withSpinLock")
            throw error
        }
        try mapping.checkAfterAccess("withSpinLock")
        return result
    }
}
