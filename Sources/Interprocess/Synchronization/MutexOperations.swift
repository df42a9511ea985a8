import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The operations of a robust process-shared mutex over the `pthread_mutex_t` it
/// lives in and the word after it that records the owner's pid (SPEC Y4, Y5).
///
/// Taking the lock is `pthread_mutex_trylock` — glibc then puts the mutex on the
/// calling thread's robust list, which the kernel walks when the thread dies — and
/// waiting is the library's own `futex(FUTEX_WAIT_BITSET)` on glibc's lock word with
/// the robust-futex protocol (set `FUTEX_WAITERS`, sleep while the word holds it),
/// so a wait can be interrupted for a cancellation and bounded by a deadline.
/// See Synchronization/README.md, "Mutex".
struct MutexOperations: @unchecked Sendable {
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The pid of the process holding the lock (0 when unknown or free); the
    /// next word holds the `MappedMutex.Kind` it was made with.
    let ownerWord: UnsafeMutablePointer<UInt32>
    /// The mutex, for errors.
    let object: String

    static let waitersBit: UInt32 = 0x8000_0000   // FUTEX_WAITERS
    static let ownerDiedBit: UInt32 = 0x4000_0000 // FUTEX_OWNER_DIED
    static let threadMask: UInt32 = 0x3fff_ffff   // FUTEX_TID_MASK

    /// Bytes of a placed mutex: the `pthread_mutex_t`, then the owner's pid.
    static var size: Int { MemoryLayout<pthread_mutex_t>.size + 8 }
    static var alignment: Int { MemoryLayout<pthread_mutex_t>.alignment }

    init(_ start: UnsafeMutableRawPointer, object: String) {
        mutex = start.assumingMemoryBound(to: pthread_mutex_t.self)
        ownerWord = (start + MemoryLayout<pthread_mutex_t>.size).assumingMemoryBound(to: UInt32.self)
        self.object = object
    }

    var word: UnsafeMutablePointer<UInt32> { UnsafeMutableRawPointer(mutex).assumingMemoryBound(to: UInt32.self) }
    private var atomicWord: UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(mutex).assumingMemoryBound(to: Atomic<UInt32>.self)
    }
    private var atomicOwner: UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(ownerWord).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    // MARK: initialising and validating

    /// `pthread_mutex_init` with the kind, robust and process-shared attributes.
    static func initialise(_ start: UnsafeMutableRawPointer, kind: MappedMutex.Kind, object: String) throws(IPCError) {
        let mutex = start.assumingMemoryBound(to: pthread_mutex_t.self)
        let rc = system_pthread_mutex_init_robust_shared(mutex, kind.pthreadType)
        if rc != 0 { throw IPCError(Errno(rawValue: rc), operation: "pthread_mutex_init", object: object) }
        (start + MemoryLayout<pthread_mutex_t>.size).storeBytes(of: UInt32(0), as: UInt32.self)
        (start + MemoryLayout<pthread_mutex_t>.size + 4).storeBytes(of: UInt32(kind.rawValue), as: UInt32.self)
    }

    /// The `__kind` word glibc keeps for a robust process-shared mutex of each kind,
    /// indexed by `MappedMutex.Kind.rawValue` (0 unused), learnt from a mutex
    /// initialised here (so no glibc constant is copied). An array, not a
    /// dictionary: every lock and unlock checks it.
    static let kindWords: [Int32?] = {
        var words = [Int32?](repeating: nil, count: Int(MappedMutex.Kind.allCases.map(\.rawValue).max()!) + 1)
        for kind in MappedMutex.Kind.allCases {
            var mutex = pthread_mutex_t()
            if system_pthread_mutex_init_robust_shared(&mutex, kind.pthreadType) == 0 {
                words[Int(kind.rawValue)] = mutex.__data.__kind
                pthread_mutex_destroy(&mutex)
            }
        }
        return words
    }()

    /// The kind the mutex was made with, or nil when glibc's kind word does not
    /// match it (another process overwrote one of them). Kept beside the mutex,
    /// since glibc's word cannot tell default from normal.
    var kind: MappedMutex.Kind? {
        let stored = UnsafeRawPointer(ownerWord + 1).load(as: UInt32.self)
        let word = UnsafeRawPointer(mutex).load(fromByteOffset: Self.kindOffset, as: Int32.self)
        let words = Self.kindWords
        guard stored < UInt32(words.count), let expected = words[Int(stored)], expected == word else { return nil }
        return MappedMutex.Kind(rawValue: UInt8(stored))
    }

    static let kindOffset = MemoryLayout<__pthread_mutex_s>.offset(of: \__pthread_mutex_s.__kind)!

    /// Throws `EINVAL` unless the memory still holds a robust process-shared mutex:
    /// glibc reads its kind word to choose a code path, and must never be handed
    /// another one (a peer's junk could send it into a path that aborts).
    func validate(_ operation: String) throws(IPCError) {
        if kind == nil {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "the memory does not hold a robust process-shared mutex (any more): its kind word was overwritten")
        }
    }

    // MARK: acquiring

    /// Takes the lock, waiting until `deadline`. With `interruptible`, a signal
    /// (`EINTR`) returns nil so the waiting engine can end the wait; otherwise the
    /// wait goes on. `ETIMEDOUT` when the deadline passed first.
    func acquire(until deadline: Deadline, interruptible: Bool) -> Result<MappedMutex.Acquisition, IPCError>? {
        var slept = false
        while true {
            switch attempt(slept: slept) {
            case .some(let result): return result
            case .none: break
            }
            let value = atomicWord.pointee.load(ordering: .acquiring)
            if value & Self.threadMask == 0 { continue }
            var expected = value
            if value & Self.waitersBit == 0 {
                expected = value | Self.waitersBit
                guard atomicWord.pointee.compareExchange(expected: value, desired: expected, ordering: .relaxed).exchanged else { continue }
            }
            if deadline != .distantFuture && deadline.hasPassed {
                forwardWake()
                return .failure(timedOut())
            }
            let rc: CInt
            if deadline == .distantFuture {
                rc = system_futex_wait(word, expected, nil)
            } else {
                var at = deadline.absoluteTimespec
                rc = system_futex_wait(word, expected, &at)
            }
            slept = true
            if rc == 0 { continue }
            switch lastErrno {
            case EAGAIN: continue
            case EINTR:
                if interruptible { forwardWake(); return nil }
            case ETIMEDOUT:
                forwardWake()
                return .failure(timedOut())
            default:
                return .failure(IPCError.last("futex", object: object))
            }
        }
    }

    /// One `pthread_mutex_trylock`: the acquisition, a failure, or nil when another
    /// thread holds the lock.
    func attempt(slept: Bool) -> Result<MappedMutex.Acquisition, IPCError>? {
        do throws(IPCError) { try validate("pthread_mutex_trylock") } catch { return .failure(error) }
        let rc = system_pthread_mutex_trylock(mutex)
        switch rc {
        case 0: return .success(took(slept: slept, ownerDied: false))
        case EOWNERDEAD: return .success(took(slept: slept, ownerDied: true))
        case EBUSY: return nil
        case ENOTRECOVERABLE:
            // glibc's trylock (2.36) takes the word of a not-recoverable mutex and
            // returns without giving it back (its `oldval == id` test cannot hold
            // after the compare-and-swap from 0); its lock does give it back. So
            // give the word back here. glibc's unlock woke one sleeper; the others
            // must learn it too.
            let me = UInt32(bitPattern: cipc_cached_tid())
            _ = atomicWord.pointee.compareExchange(expected: me, desired: 0, ordering: .releasing)
            _ = atomicWord.pointee.compareExchange(expected: me | Self.waitersBit, desired: 0, ordering: .releasing)
            _ = system_futex_wake(word, Int32.max)
            return .failure(IPCError(.notRecoverable, operation: "pthread_mutex_lock", object: object,
                                     detail: "an owner died holding the lock and the next owner unlocked it without marking it consistent"))
        case EDEADLK:
            return .failure(IPCError(.deadlock, operation: "pthread_mutex_lock", object: object,
                                     detail: "this thread already holds this error-checking mutex"))
        case EAGAIN:
            return .failure(IPCError(.resourceTemporarilyUnavailable, operation: "pthread_mutex_lock", object: object,
                                     detail: "the recursive mutex was locked the most times it can count"))
        default:
            return .failure(IPCError(Errno(rawValue: rc), operation: "pthread_mutex_trylock", object: object))
        }
    }

    /// After taking the lock: a thread that slept re-sets `FUTEX_WAITERS` (it cannot
    /// know whether others still sleep; glibc does the same), the previous owner's
    /// pid is read when it died, and this process's pid is recorded.
    private func took(slept: Bool, ownerDied: Bool) -> MappedMutex.Acquisition {
        if slept { atomicWord.pointee.bitwiseOr(Self.waitersBit, ordering: .relaxed) }
        var acquisition = MappedMutex.Acquisition.acquired
        if ownerDied {
            let pid = atomicOwner.pointee.load(ordering: .relaxed)
            acquisition = .previousOwnerDied(pid: pid > 0 && pid <= Self.threadMask ? Int32(pid) : nil)
        }
        atomicOwner.pointee.store(UInt32(bitPattern: cipc_cached_pid()), ordering: .relaxed)
        return acquisition
    }

    /// A waiter that leaves without the lock (deadline, interruption) may have been
    /// the one an unlock woke: it passes the wake on when the lock is free.
    private func forwardWake() {
        if atomicWord.pointee.load(ordering: .relaxed) & Self.threadMask == 0 {
            _ = system_futex_wake(word, 1)
        }
    }

    private func timedOut() -> IPCError {
        IPCError(.timedOut, operation: "pthread_mutex_clocklock", object: object, detail: "the lock was not free before the deadline")
    }

    // MARK: releasing

    /// Releases the lock (once, for a recursive mutex taken several times). Only the
    /// thread that holds it may: `EPERM` otherwise, and when it is not locked.
    func release() throws(IPCError) {
        try validate("pthread_mutex_unlock")
        let value = atomicWord.pointee.load(ordering: .relaxed)
        if value & Self.threadMask != UInt32(bitPattern: cipc_cached_tid()) {
            throw IPCError(.notPermitted, operation: "pthread_mutex_unlock", object: object,
                           detail: value & Self.threadMask == 0 ? "the mutex is not locked" : "this thread does not hold the lock")
        }
        if mutex.pointee.__data.__count <= 1 { atomicOwner.pointee.store(0, ordering: .relaxed) }
        let rc = system_pthread_mutex_unlock(mutex)
        if rc != 0 { throw IPCError(Errno(rawValue: rc), operation: "pthread_mutex_unlock", object: object) }
    }

    /// Marks the state protected by a mutex whose owner died consistent again.
    func markConsistent() throws(IPCError) {
        try validate("pthread_mutex_consistent")
        let rc = system_pthread_mutex_consistent(mutex)
        if rc != 0 {
            throw IPCError(Errno(rawValue: rc), operation: "pthread_mutex_consistent", object: object,
                           detail: rc == EINVAL ? "only the thread that took the lock from a dead owner can mark it consistent, before unlocking" : nil)
        }
    }
}
