import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A condition variable in shared memory, used with a `MappedMutex` of the same
/// mapping (SPEC Y4). Named like `MappedSemaphore` and `MappedMutex`: placed by a
/// `SharedLayout` (`condition()`) and lent by `PlacedMapping.withCondition(_:)`.
///
/// It is the library's own, on one futex word — a sequence number — and not
/// glibc's `pthread_cond_t`: glibc's process-shared condvar keeps waiter groups
/// and counts in shared memory, and a waiter killed at the wrong moment leaves
/// them so that `pthread_cond_broadcast` waits for ever (glibc bug 21422). Here a
/// wait reads the sequence with the mutex held, releases the mutex and sleeps
/// while the sequence is unchanged (`futex(FUTEX_WAIT_BITSET)`); `signal` and
/// `broadcast` add one and wake one or all (`FUTEX_WAKE`). Nothing a later call
/// waits on is counted, so a process killed anywhere in a wait, a signal or a
/// broadcast leaves nothing that makes a later call hang; a wake-up cannot be lost between reading the
/// sequence and sleeping, since the kernel sleeps only while the word is unchanged.
/// (A second word counts possible sleepers so that a signal with none skips the
/// system call; a killed waiter leaves it too high, which costs a needless wake,
/// never a lost one.)
///
/// Waiting takes a predicate, evaluated with the mutex held, and returns when it
/// holds — the loop every correct condition wait needs, built in:
///
/// ```swift
/// try placed.withMutex(lock) { mutex in
///     try placed.withCondition(ready) { ready in
///         _ = try mutex.lock()            // .previousOwnerDied: repair first
///         _ = try ready.wait(on: mutex, until: { try placed.withAtomic(count) { $0.load(ordering: .relaxed) } > 0 })
///         try mutex.unlock()
///     }
/// }
/// ```
public struct MappedCondition: ~Copyable, @unchecked Sendable {
    let sequence: UnsafeMutablePointer<UInt32>
    let object: String

    static let size = 8
    static let alignment = 8

    init(_ start: UnsafeMutableRawPointer, object: String) {
        sequence = start.assumingMemoryBound(to: UInt32.self)
        self.object = object
    }

    private var atomic: UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(sequence).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The second word: how many waiters may be asleep, so `signal` and
    /// `broadcast` skip the system call when none is. A waiter killed while
    /// counted leaves it too high — later signals then make a needless
    /// `FUTEX_WAKE`, never a missed one.
    private var waiters: UnsafeMutablePointer<Atomic<UInt32>> {
        (UnsafeMutableRawPointer(sequence) + 4).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// With `mutex` held by this thread, waits until `predicate` (evaluated with the
    /// mutex held) is true, and returns with the mutex held.
    ///
    /// Returns `.acquired` when the predicate holds, or `.previousOwnerDied(pid:)` as
    /// soon as retaking the mutex found its owner dead: the predicate is not
    /// evaluated on data the dead process may have left half-changed; repair it,
    /// `markConsistent()`, and wait again if need be. Throws `EPERM` when this
    /// thread does not hold the mutex, `ENOTRECOVERABLE` (the mutex is then not
    /// held), and what `predicate` throws (the mutex held). The corresponding C
    /// function is `pthread_cond_wait`.
    public func wait(on mutex: borrowing MappedMutex, until predicate: () throws -> Bool) throws -> MappedMutex.Acquisition {
        try wait(mutex.operations, deadline: .distantFuture, predicate)
    }

    /// `wait(on:until:)` giving up at `deadline`: throws `ETIMEDOUT` (with the mutex
    /// held) when the predicate still does not hold then. (`deadline:`, since the
    /// predicate is `until:`.) The corresponding C function is
    /// `pthread_cond_clockwait` on `CLOCK_MONOTONIC`.
    public func wait(on mutex: borrowing MappedMutex, until predicate: () throws -> Bool,
                     deadline: Deadline) throws -> MappedMutex.Acquisition {
        try wait(mutex.operations, deadline: deadline, predicate)
    }

    /// `wait(on:until:deadline:)` with a deadline `timeout` from now.
    public func wait(on mutex: borrowing MappedMutex, until predicate: () throws -> Bool,
                     timeout: Duration) throws -> MappedMutex.Acquisition {
        try wait(mutex.operations, deadline: .after(timeout), predicate)
    }

    func wait(_ mutex: MutexOperations, deadline: Deadline, _ predicate: () throws -> Bool) throws -> MappedMutex.Acquisition {
        while true {
            if try predicate() { return .acquired }
            let seen = enterWait()
            try mutex.release()
            var expired = false
            switch sleep(seen, deadline, interruptible: false)! {
            case .success(let passed): expired = passed
            case .failure(let error):
                try relock(mutex)
                throw error
            }
            if case .previousOwnerDied(let pid) = try relock(mutex) { return .previousOwnerDied(pid: pid) }
            if expired {
                if try predicate() { return .acquired }
                throw timedOut()
            }
        }
    }

    func timedOut() -> IPCError {
        IPCError(.timedOut, operation: "pthread_cond_clockwait", object: object,
                 detail: "the condition did not hold before the deadline")
    }

    /// Counts this thread as a waiter, then reads the sequence it will sleep on.
    /// Both sequentially consistent, as are the signaller's increment and its read
    /// of the count: a signaller that sees no waiter has bumped the sequence
    /// before this read, so the sleep does not happen.
    func enterWait() -> UInt32 {
        waiters.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        return atomic.pointee.load(ordering: .sequentiallyConsistent)
    }

    /// One futex sleep while the sequence is `seen`: true when the deadline
    /// passed; a signal (`EINTR`) returns false like a wake-up, or nil when
    /// `interruptible` (the waiting engine then decides).
    func sleep(_ seen: UInt32, _ deadline: Deadline, interruptible: Bool) -> Result<Bool, IPCError>? {
        defer { waiters.pointee.wrappingSubtract(1, ordering: .relaxed) }
        if deadline != .distantFuture && deadline.hasPassed { return .success(true) }
        let rc: CInt
        if deadline == .distantFuture {
            rc = system_futex_wait(sequence, seen, nil)
        } else {
            var at = deadline.absoluteTimespec
            rc = system_futex_wait(sequence, seen, &at)
        }
        if rc == 0 { return .success(false) }
        switch lastErrno {
        case EAGAIN: return .success(false)
        case EINTR: return interruptible ? nil : .success(false)
        case ETIMEDOUT: return .success(true)
        default: return .failure(IPCError.last("futex", object: object))
        }
    }

    @discardableResult
    private func relock(_ mutex: MutexOperations) throws(IPCError) -> MappedMutex.Acquisition {
        try mutex.acquire(until: .distantFuture, interruptible: false)!.get()
    }

    /// Wakes one waiter (in any process). The corresponding C function is
    /// `pthread_cond_signal`.
    public func signal() throws(IPCError) {
        atomic.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if waiters.pointee.load(ordering: .sequentiallyConsistent) == 0 { return }
        if system_futex_wake(sequence, 1) < 0 { throw IPCError.last("futex", object: object) }
    }

    /// Wakes every waiter. The corresponding C function is `pthread_cond_broadcast`.
    public func broadcast() throws(IPCError) {
        atomic.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if waiters.pointee.load(ordering: .sequentiallyConsistent) == 0 { return }
        if system_futex_wake(sequence, Int32.max) < 0 { throw IPCError.last("futex", object: object) }
    }
}

extension PlacedMapping {
    /// Lends `body` the condition variable at `place`. Throws `EINVAL` for a place of
    /// another layout, `EACCES` for a mapping that is not readable and writable.
    public func withCondition<R>(_ place: SharedPlace<MappedCondition>, _ body: (borrowing MappedCondition) throws -> R) throws -> R {
        try layout.check(place, .condition, operation: "withCondition")
        let start = try mapping.placedObjectAddress("withCondition", place, alignment: MappedCondition.alignment)
        let result: R
        do { result = try body(MappedCondition(start, object: mapping.label)) } catch {
            try mapping.checkAfterAccess("withCondition")
            throw error
        }
        try mapping.checkAfterAccess("withCondition")
        return result
    }
}
