@testable import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Robust process-shared mutexes (Y4, Y5)")
struct MappedMutexTests {
    /// The mutex-kind table (SPEC Y4, the notes' table), row by row: relock by the
    /// owner, unlock by a non-owner (another process), unlock when unlocked.
    @Test("each kind behaves as the table says", arguments: MappedMutex.Kind.allCases)
    func kindTable(kind: MappedMutex.Kind) throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout(kind: kind)
        let placed = try test.create(name)
        try placed.withMutex(test.mutex) { mutex in
            #expect(mutex.kind == kind)
            #expect(try mutex.lock() == .acquired)
            switch kind {
            case .normal, .default:
                // Relock deadlocks: not taken, and a bounded wait runs out.
                #expect(try mutex.tryLock() == nil)
                let relock = #expect(throws: IPCError.self) { _ = try mutex.lock(timeout: .milliseconds(20)) }
                #expect(relock?.errno == .timedOut)
            case .errorChecking:
                let relock = #expect(throws: IPCError.self) { _ = try mutex.lock() }
                #expect(relock?.errno == .deadlock)
                let again = #expect(throws: IPCError.self) { _ = try mutex.tryLock() }
                #expect(again?.errno == .deadlock)
            case .recursive:
                #expect(try mutex.lock() == .acquired)
                #expect(try mutex.tryLock() == .acquired)
                try mutex.unlock()
                try mutex.unlock()
                // Still held once: another process finds it busy.
                #expect(try TestPeer.run(TestPeer.spawn("mutex-try", name)).output == "busy")
            }
            // Unlock by a process that does not own it.
            #expect(try TestPeer.run(TestPeer.spawn("mutex-unlock", name)).output == "EPERM")
            try mutex.unlock()
            // Unlock when unlocked.
            let unlocked = #expect(throws: IPCError.self) { try mutex.unlock() }
            #expect(unlocked?.errno == .notPermitted)
            #expect(try TestPeer.run(TestPeer.spawn("mutex-try", name)).output == "acquired")
        }
    }

    @Test("a holder killed with SIGKILL: the next locker gets the lock and the dead pid, repairs, marks consistent")
    func ownerDeathIsTold() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name])
        #expect(try holder.line() == "locked \(holder.pid)")
        #expect(try placed.withMutex(test.mutex) { try $0.tryLock() } == nil)
        #expect(try holder.kill() == .signalled(SIGKILL, coreDumped: false))

        try placed.withMutex(test.mutex) { mutex in
            #expect(try mutex.lock(timeout: .seconds(30)) == .previousOwnerDied(pid: holder.pid))
            try mutex.markConsistent()
            try mutex.unlock()
            #expect(try mutex.lock() == .acquired)
            let notDead = #expect(throws: IPCError.self) { try mutex.markConsistent() }
            #expect(notDead?.errno == .invalidArgument)
            try mutex.unlock()
        }
        #expect(try TestPeer.run(TestPeer.spawn("mutex-try", name)).output == "acquired")
    }

    @Test("a holder that exits without unlocking is a dead owner too")
    func ownerExitIsTold() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name])
        #expect(try holder.line() == "locked \(holder.pid)")
        #expect(try holder.finish() == .exited(0))
        let told = try TestPeer.run(TestPeer.spawn("mutex-try", name)).output
        #expect(told == "died \(holder.pid)")
        // mutex-try unlocked without marking consistent: not recoverable now.
        try placed.withMutex(test.mutex) { mutex in
            let lost = #expect(throws: IPCError.self) { _ = try mutex.lock() }
            #expect(lost?.errno == .notRecoverable)
        }
    }

    @Test("a holder that calls exec is a dead owner for the mutex (L3): the kernel releases its robust list at exec")
    func ownerExecIsTold() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name, "exec"])
        #expect(try holder.line() == "locked \(holder.pid)")
        try holder.send("go")
        #expect(try holder.line() == "exec")
        try holder.send("echoed by cat")
        #expect(try holder.line() == "echoed by cat")  // the same pid now runs cat
        #expect(try placed.withMutex(test.mutex) { mutex -> MappedMutex.Acquisition? in
            let taken = try mutex.tryLock()
            try mutex.markConsistent()
            try mutex.unlock()
            return taken
        } == .previousOwnerDied(pid: holder.pid))
        #expect(try holder.finish() == .exited(0))
    }

    @Test("unlocked without being marked consistent, the mutex is not recoverable for every process")
    func notRecoverable() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name])
        _ = try holder.line()
        _ = try holder.kill()
        try placed.withMutex(test.mutex) { mutex in
            #expect(try mutex.tryLock() == .previousOwnerDied(pid: holder.pid))
            try mutex.unlock()
            let lock = #expect(throws: IPCError.self) { _ = try mutex.lock() }
            #expect(lock?.errno == .notRecoverable)
            #expect(lock?.description.contains("marking it consistent") == true)
            let tryLock = #expect(throws: IPCError.self) { _ = try mutex.tryLock() }
            #expect(tryLock?.errno == .notRecoverable)
            let repair = #expect(throws: IPCError.self) {
                try mutex.withLock(ifOwnerDied: { _ in Issue.record("not an owner death") }) {}
            }
            #expect(repair?.errno == .notRecoverable)
        }
        #expect(try TestPeer.run(TestPeer.spawn("mutex-try", name)).output == "ENOTRECOVERABLE")
        #expect(try TestPeer.run(TestPeer.spawn("mutex-lock", name, "1000")).output == "ENOTRECOVERABLE")
    }

    @Test("a process asleep waiting for the lock is woken by its owner's death and told")
    func sleeperWokenByOwnerDeath() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        _ = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name])
        _ = try holder.line()
        let waiter = try PeerSession("mutex-lock", [name, "30000"])
        #expect(waitUntilBlocked(pid: waiter.pid, inSyscall: Int(SyscallNumber.futex)!))
        _ = try holder.kill()
        #expect(try waiter.line() == "died \(holder.pid)")
    }

    @Test("a time-bounded lock throws ETIMEDOUT while another process holds it")
    func timedLock() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name])
        _ = try holder.line()
        try placed.withMutex(test.mutex) { mutex in
            let late = #expect(throws: IPCError.self) { _ = try mutex.lock(timeout: .milliseconds(20)) }
            #expect(late?.errno == .timedOut)
            let past = #expect(throws: IPCError.self) { _ = try mutex.lock(until: .after(.zero)) }
            #expect(past?.errno == .timedOut)
        }
        _ = try holder.kill()
    }

    /// Y5 under fire: a peer that takes and releases the lock in a loop, changing
    /// two counters one after the other inside, is SIGKILLed at a random point of
    /// its loop, 200 times. Each time the test takes the lock (never waiting in
    /// vain: a bounded wait turns a hang into a failure), is told of the death
    /// when the peer held it, and checks the counters were left at most one apart.
    @Test("a holder SIGKILLed at random points 200 times never hangs the next locker")
    func killedAtRandomPoints() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        var deaths = 0
        for _ in 0..<200 {
            let start = try test.load(placed, test.first)
            let churn = try PeerSession("mutex-churn", [name])
            #expect(try churn.line() == "ready")
            let steps = UInt64.random(in: 1...200)
            #expect(eventually(timeout: .seconds(30)) { (try? test.load(placed, test.first)) ?? 0 >= start + steps })
            #expect(try churn.kill() == .signalled(SIGKILL, coreDumped: false))
            try placed.withMutex(test.mutex) { mutex in
                let acquisition = try mutex.lock(timeout: .seconds(30))
                let first = try test.load(placed, test.first), second = try test.load(placed, test.second)
                if case .previousOwnerDied(let pid) = acquisition {
                    deaths += 1
                    #expect(pid == churn.pid || pid == nil)
                    #expect(first == second || first == second + 1)
                    try test.store(placed, test.second, first)
                    try mutex.markConsistent()
                } else {
                    #expect(first == second)
                }
                try mutex.unlock()
            }
        }
        // The peer holds the lock for most of its loop, so most kills find it holding.
        #expect(deaths > 0)
    }

    /// The library keeps the thread id and pid a lock records (one system call
    /// each per thread or process, not per lock); a forked child must use its own.
    @Test("a forked child locks and unlocks as itself, and is reported by its own pid when it dies holding the lock")
    func forkedChildIsItself() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let run = try TestPeer.run(TestPeer.spawn("mutex-fork", name))
        let words = run.output.split(separator: " ")
        #expect(words.count == 3 && words[0] == "child" && words[2] == "0", "\(run.output)")
        let child = try #require(Int32(words.count == 3 ? words[1] : ""))
        try placed.withMutex(test.mutex) { mutex in
            #expect(try mutex.lock(timeout: .seconds(30)) == .previousOwnerDied(pid: child))
            try mutex.markConsistent()
            try mutex.unlock()
        }
    }

    @Test("async: tasks of one process take turns on workers; each holds the lock on the thread that took it")
    func asyncInProcess() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let operations = try placed.withMutex(test.mutex) { $0.operations }
        let address = UInt(bitPattern: placed.mapping.base + test.first.offset)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<250 {
                        try await MappedMutex.withLockAsync(operations, until: .distantFuture, ifOwnerDied: { _ in }) {
                            // A plain read-modify-write: only the lock keeps it whole.
                            let word = UnsafeMutablePointer<UInt64>(bitPattern: address)!
                            let seen = word.pointee
                            sched_yield()
                            word.pointee = seen + 1
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try test.load(placed, test.first) == 1000)
    }

    @Test("async: an acquisition waiting for another process's lock ends with CancellationError, and takes nothing")
    func asyncCancelled() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let holder = try PeerSession("mutex-hold", [name])
        _ = try holder.line()
        let operations = try placed.withMutex(test.mutex) { $0.operations }
        let waiting = Task {
            try await MappedMutex.withLockAsync(operations, until: .distantFuture, ifOwnerDied: { _ in }) { 1 }
        }
        let word = try placed.withMutex(test.mutex) { hexArgument($0.operations.word) }
        #expect(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: word) != nil)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        _ = try holder.kill()
        let holderPID = holder.pid
        let after = try await placed.withMutex(test.mutex) { mutex in
            try await mutex.withLockAsync(ifOwnerDied: { pid in #expect(pid == holderPID) }) { 2 }
        }
        #expect(after == 2)
        #expect(try TestPeer.run(TestPeer.spawn("mutex-try", name)).output == "acquired")
    }

    @Test("a mutex whose memory another process overwrote fails with EINVAL, never crashes")
    func overwritten() throws {
        let test = try LockTestLayout()
        let placed = try PlacedMapping.create(test.layout, in: PosixSharedMemory.anonymous(size: test.layout.size).map())
        try placed.mapping.write([0xff, 0xff, 0xff, 0x7f], at: test.mutex.offset + MutexOperations.kindOffset)
        try placed.withMutex(test.mutex) { mutex in
            #expect(mutex.kind == nil)
            let lock = #expect(throws: IPCError.self) { _ = try mutex.lock() }
            #expect(lock?.errno == .invalidArgument)
            let tryLock = #expect(throws: IPCError.self) { _ = try mutex.tryLock() }
            #expect(tryLock?.errno == .invalidArgument)
            let unlock = #expect(throws: IPCError.self) { try mutex.unlock() }
            #expect(unlock?.errno == .invalidArgument)
            let consistent = #expect(throws: IPCError.self) { try mutex.markConsistent() }
            #expect(consistent?.errno == .invalidArgument)
        }
    }
}

