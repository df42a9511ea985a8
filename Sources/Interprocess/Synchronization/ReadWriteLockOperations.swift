import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The operations of a crash-safe read–write lock built from robust mutexes
/// (SPEC Y6), over the memory of one placed `MappedReadWriteLock`.
///
/// glibc's `pthread_rwlock_t` is not robust: a holder that dies leaves it held for
/// ever. So the lock is made of the robust mutexes of `MutexOperations`, whose
/// owner's death the kernel reports: a *gate* and one mutex per reader *slot*. A
/// reader holds one slot; a writer holds the gate and every slot. Whoever takes an
/// internal mutex from a dead owner marks it consistent at once (it protects no
/// data) and, when a writer was in its exclusive section, records that writer as
/// dead. See Synchronization/README.md, "Read–write lock".
///
/// Memory (each part on its own 64-byte cache lines):
///
/// | offset | what |
/// |---|---|
/// | 0 | the gate (a placed robust mutex: `pthread_mutex_t`, owner pid, kind) |
/// | after it | configuration, writer pid, dead writer pid, flags (4 × `UInt32`) |
/// | `headerSize + i × slotStride` | reader slot `i` (a placed robust mutex) |
struct ReadWriteLockOperations: @unchecked Sendable {
    let start: UnsafeMutableRawPointer
    let configuration: ReadWriteLockConfiguration
    /// The lock, for errors.
    let object: String

    var slotCount: Int { configuration.slots }
    var preference: MappedReadWriteLock.Preference { configuration.preference }

    static let lineSize = 64
    private static let stateOffset = (MutexOperations.size + 7) & ~7
    static var headerSize: Int { roundedToLine(stateOffset + 16) }
    static var slotStride: Int { roundedToLine(MutexOperations.size) }
    static var alignment: Int { lineSize }

    /// Bytes of a placed lock with `slots` reader slots.
    static func size(slots: Int) -> Int { headerSize + slots * slotStride }

    private static func roundedToLine(_ bytes: Int) -> Int { (bytes + lineSize - 1) & ~(lineSize - 1) }

    init(_ start: UnsafeMutableRawPointer, configuration: ReadWriteLockConfiguration, object: String) {
        self.start = start
        self.configuration = configuration
        self.object = object
    }

    var gate: MutexOperations { MutexOperations(start, object: object) }
    func slot(_ index: Int) -> MutexOperations { MutexOperations(slotStart(index), object: object) }
    private func slotStart(_ index: Int) -> UnsafeMutableRawPointer { start + Self.headerSize + index * Self.slotStride }

    private func stateWord(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (start + Self.stateOffset + 4 * index).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// `ReadWriteLockConfiguration.word`, checked before every operation.
    var configurationWord: UnsafeMutablePointer<Atomic<UInt32>> { stateWord(0) }
    /// The pid of the writer in its exclusive section; 0 otherwise.
    var writerWord: UnsafeMutablePointer<Atomic<UInt32>> { stateWord(1) }
    /// The pid of a writer that died in its exclusive section, until the next
    /// writer marks the lock consistent; 0 otherwise.
    var deadWriterWord: UnsafeMutablePointer<Atomic<UInt32>> { stateWord(2) }
    /// `notRecoverableFlag` once a writer told of a dead one unlocked without repairing.
    var flagsWord: UnsafeMutablePointer<Atomic<UInt32>> { stateWord(3) }
    static let notRecoverableFlag: UInt32 = 1

    // MARK: initialising

    /// `pthread_mutex_init` (robust, process-shared, error-checking) for the gate
    /// and every slot, and the state words.
    static func initialise(_ start: UnsafeMutableRawPointer, _ configuration: ReadWriteLockConfiguration, object: String) throws(IPCError) {
        let lock = ReadWriteLockOperations(start, configuration: configuration, object: object)
        try MutexOperations.initialise(start, kind: .errorChecking, object: object)
        for index in 0..<configuration.slots {
            try MutexOperations.initialise(lock.slotStart(index), kind: .errorChecking, object: object)
        }
        lock.writerWord.pointee.store(0, ordering: .relaxed)
        lock.deadWriterWord.pointee.store(0, ordering: .relaxed)
        lock.flagsWord.pointee.store(0, ordering: .relaxed)
        lock.configurationWord.pointee.store(configuration.word, ordering: .releasing)
    }

    // MARK: taking one internal mutex

    /// Takes `mutex` as `wait` says. A mutex taken from a dead owner is marked
    /// consistent at once, after recording a dead writer (`noteDeath`): in that
    /// order, so a thread killed between the two leaves the mutex still marked.
    func take(_ mutex: MutexOperations, _ wait: ReadWriteLockWait) -> ReadWriteLockStep<Void> {
        let result: Result<MappedMutex.Acquisition, IPCError>
        if let deadline = wait.deadline {
            guard let acquired = mutex.acquire(until: deadline, interruptible: wait.interruptible) else { return .interrupted }
            result = acquired
        } else {
            guard let attempted = mutex.attempt(slept: false) else { return .busy }
            result = attempted
        }
        switch result {
        case .failure(let error): return .failed(error)
        case .success(.acquired): return .done(())
        case .success(.previousOwnerDied):
            noteDeath()
            do throws(IPCError) { try mutex.markConsistent() } catch {
                try? mutex.release()
                return .failed(error)
            }
            return .done(())
        }
    }

    /// After taking an internal mutex from a dead owner: a writer in its exclusive
    /// section holds every internal mutex until it has cleared the writer word, so
    /// a writer word still set now means that writer died (or called `exec`) in
    /// its exclusive section, and the kernel released its mutexes. It becomes the
    /// dead writer, reported to everyone until a writer repairs. Any other dead
    /// owner (a reader, a writer not yet or no longer exclusive) changed no data.
    private func noteDeath() {
        let writer = writerWord.pointee.load(ordering: .acquiring)
        if writer == 0 { return }
        deadWriterWord.pointee.store(writer, ordering: .releasing)
        _ = writerWord.pointee.compareExchange(expected: writer, desired: 0, ordering: .releasing)
    }

    // MARK: shared

    /// Takes the lock shared: the index of the slot taken. (No thread id is
    /// needed on this path — `gettid` is a system call — except to tell why every
    /// slot answered `EDEADLK`.)
    func acquireShared(_ wait: ReadWriteLockWait, _ operation: String) -> ReadWriteLockStep<Int> {
        if let error = checkConfiguration(operation) { return .failed(error) }
        let taken: ReadWriteLockStep<Int>
        if preference == .writers {
            // Through the gate, so readers queue behind a writer waiting there.
            switch take(gate, wait) {
            case .done: break
            case .busy: return .busy
            case .interrupted: return .interrupted
            case .failed(let error) where error.errno == .deadlock: return .failed(heldExclusively(operation))
            case .failed(let error): return .failed(relabel(error, operation))
            }
            taken = takeSlot(wait, operation)
            do throws(IPCError) { try gate.release() } catch {
                if case .done(let index) = taken { try? slot(index).release() }
                return .failed(relabel(error, operation))
            }
        } else {
            taken = takeSlot(wait, operation)
        }
        guard case .done(let index) = taken else { return taken }
        if let error = stateError(operation) {
            try? slot(index).release()
            return .failed(error)
        }
        return taken
    }

    /// A free slot, tried from this thread's own start index on (so threads spread
    /// over the slots); a slot this thread holds already (`EDEADLK` from the
    /// error-checking mutex: a recursive read) is skipped. With none free, waits
    /// for the first busy one.
    private func takeSlot(_ wait: ReadWriteLockWait, _ operation: String) -> ReadWriteLockStep<Int> {
        let first = firstSlot
        var busy: Int?
        for step in 0..<slotCount {
            let index = (first + step) % slotCount
            switch take(slot(index), .attempt) {
            case .done: return .done(index)
            case .busy: if busy == nil { busy = index }
            case .failed(let error) where error.errno == .deadlock: continue
            case .failed(let error): return .failed(relabel(error, operation))
            case .interrupted: return .interrupted
            }
        }
        guard let busy else {
            // Every slot is this thread's: it holds the lock exclusively (the gate
            // would have said so when readers pass it), or shared that many times.
            if preference == .readers && owner(of: gate) == Self.currentThread { return .failed(heldExclusively(operation)) }
            return .failed(IPCError(.resourceTemporarilyUnavailable, operation: operation, object: object,
                                    detail: "this thread holds all \(slotCount) reader slots already (the lock's maximumReaders)"))
        }
        if wait.deadline == nil { return .busy }
        switch take(slot(busy), wait) {
        case .done: return .done(busy)
        case .busy: return .busy
        case .interrupted: return .interrupted
        case .failed(let error): return .failed(relabel(error, operation))
        }
    }

    /// Releases one slot this thread holds.
    func releaseShared() throws(IPCError) {
        let operation = "pthread_rwlock_unlock"
        if let error = checkConfiguration(operation) { throw error }
        let me = Self.currentThread
        if owner(of: gate) == me {
            throw IPCError(.notPermitted, operation: operation, object: object,
                           detail: "this thread holds the lock exclusively: release it with unlockExclusive()")
        }
        guard let index = heldSlot(me) else {
            throw IPCError(.notPermitted, operation: operation, object: object, detail: "this thread does not hold the lock shared")
        }
        try releaseSlot(index)
    }

    func releaseSlot(_ index: Int) throws(IPCError) {
        do { try slot(index).release() } catch { throw relabel(error, "pthread_rwlock_unlock") }
    }

    // MARK: who holds what

    /// The thread id in `mutex`'s lock word (glibc keeps the owner's there).
    func owner(of mutex: MutexOperations) -> UInt32 {
        UnsafeMutableRawPointer(mutex.word).assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .relaxed)
            & MutexOperations.threadMask
    }

    /// A slot `thread` holds (only that thread can have put its id there),
    /// looked for from where this thread starts taking one.
    func heldSlot(_ thread: UInt32) -> Int? {
        let first = firstSlot
        for step in 0..<slotCount {
            let index = (first + step) % slotCount
            if owner(of: slot(index)) == thread { return index }
        }
        return nil
    }

    func holdsExclusively(_ thread: UInt32) -> Bool {
        owner(of: gate) == thread && (0..<slotCount).allSatisfy { owner(of: slot($0)) == thread }
    }

    /// How many of the lock's internal mutexes `thread` holds (for tests: nothing
    /// may stay held after a failed or timed-out acquisition).
    func mutexesHeld(by thread: UInt32) -> Int {
        (owner(of: gate) == thread ? 1 : 0) + (0..<slotCount).filter { owner(of: slot($0)) == thread }.count
    }

    static var currentThread: UInt32 { UInt32(bitPattern: cipc_cached_tid()) }

    /// The slot this thread tries first, so threads spread over the slots: a
    /// Fibonacci hash of `pthread_self()` (thread descriptors lie megabytes apart,
    /// so their low bits say nothing), read without a system call.
    var firstSlot: Int {
        Int(truncatingIfNeeded: (UInt64(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 32) % slotCount
    }

    // MARK: validating and errors

    func checkConfiguration(_ operation: String) -> IPCError? {
        let word = configurationWord.pointee.load(ordering: .acquiring)
        if word == configuration.word { return nil }
        return IPCError(.invalidArgument, operation: operation, object: object,
                        detail: "the memory does not hold a read-write lock preferring \(preference) with \(slotCount) reader slots (any more): its configuration word is 0x\(String(word, radix: 16)), not 0x\(String(configuration.word, radix: 16))")
    }

    /// Why a reader that took a slot may not read: a dead writer not yet repaired,
    /// a lock left not recoverable, or overwritten state words.
    private func stateError(_ operation: String) -> IPCError? {
        let flags = flagsWord.pointee.load(ordering: .acquiring)
        let dead = deadWriterWord.pointee.load(ordering: .acquiring)
        if flags == Self.notRecoverableFlag { return notRecoverable(operation) }
        if flags != 0 || dead > MutexOperations.threadMask { return overwritten(operation) }
        if dead != 0 {
            return IPCError(.previousOwnerDied, operation: operation, object: object,
                            detail: "pid \(dead) died holding the lock exclusively, so the data may be half-changed; take the lock exclusively to be told, repair it and call markConsistent()")
        }
        return nil
    }

    func notRecoverable(_ operation: String) -> IPCError {
        IPCError(.notRecoverable, operation: operation, object: object,
                 detail: "a writer died holding the lock and the next writer unlocked it without marking it consistent")
    }

    func overwritten(_ operation: String) -> IPCError {
        IPCError(.invalidArgument, operation: operation, object: object,
                 detail: "the lock's state words were overwritten (flags 0x\(String(flagsWord.pointee.load(ordering: .relaxed), radix: 16)), dead writer \(deadWriterWord.pointee.load(ordering: .relaxed)))")
    }

    func heldExclusively(_ operation: String) -> IPCError {
        IPCError(.deadlock, operation: operation, object: object, detail: "this thread holds the lock exclusively already")
    }

    /// An internal mutex's error under the read–write lock's operation.
    func relabel(_ error: IPCError, _ operation: String) -> IPCError {
        IPCError(error.errno, operation: operation, object: object, detail: error.detail)
    }
}
