@testable import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Condition variables in shared memory (Y4)")
struct MappedConditionTests {
    @Test("a signal wakes a waiter in another process; a broadcast wakes every one")
    func signalAndBroadcast() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        let one = try PeerSession("cond-wait", [name, "1"])
        #expect(try one.line() == "waiting")
        try placed.withMutex(test.mutex) { mutex in
            try placed.withCondition(test.condition) { condition in
                // "waiting" was printed with the mutex held: taking it means the
                // waiter is inside its wait.
                _ = try mutex.lock(timeout: .seconds(30))
                try test.store(placed, test.first, 1)
                try condition.signal()
                try mutex.unlock()
            }
        }
        #expect(try one.line() == "ok")
        var three: [PeerSession] = []
        for _ in 0..<3 {
            let waiter = try PeerSession("cond-wait", [name, "2"])
            #expect(try waiter.line() == "waiting")
            three.append(waiter)
        }
        try placed.withMutex(test.mutex) { mutex in
            try placed.withCondition(test.condition) { condition in
                _ = try mutex.lock(timeout: .seconds(30))
                try test.store(placed, test.first, 2)
                try condition.broadcast()
                try mutex.unlock()
            }
        }
        for waiter in three { #expect(try waiter.line() == "ok") }
    }

    @Test("a time-bounded wait throws ETIMEDOUT with the mutex held again; waiting without the mutex is EPERM")
    func timedAndMisused() throws {
        let test = try LockTestLayout()
        let placed = try PlacedMapping.create(test.layout, in: PosixSharedMemory.anonymous(size: test.layout.size).map())
        try placed.withMutex(test.mutex) { mutex in
            try placed.withCondition(test.condition) { condition in
                let unheld = #expect(throws: IPCError.self) { _ = try condition.wait(on: mutex, until: { false }) }
                #expect(unheld?.errno == .notPermitted)
                _ = try mutex.lock()
                var checks = 0
                let late = #expect(throws: IPCError.self) {
                    _ = try condition.wait(on: mutex, until: { checks += 1; return false }, timeout: .milliseconds(20))
                }
                #expect(late?.errno == .timedOut)
                #expect(checks >= 2)  // before sleeping, and once more at the deadline
                try mutex.unlock()    // held again: unlocking succeeds
                // A predicate that holds returns at once.
                _ = try mutex.lock()
                #expect(try condition.wait(on: mutex, until: { true }, timeout: .zero) == .acquired)
                try mutex.unlock()
            }
        }
    }

    @Test("async: the wait runs on a worker, is woken by a signal, and is cancellable")
    func asyncWait() async throws {
        let test = try LockTestLayout()
        let placed = try PlacedMapping.create(test.layout, in: PosixSharedMemory.anonymous(size: test.layout.size).map())
        let operations = try placed.withMutex(test.mutex) { $0.operations }
        let sequence = try placed.withCondition(test.condition) { UInt(bitPattern: $0.sequence) }
        let firstAddress = UInt(bitPattern: placed.mapping.base + test.first.offset)
        let first: @Sendable () -> UInt64 = { UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: firstAddress)!.pointee.load(ordering: .relaxed) }
        let waiter = Task {
            let condition = MappedCondition(UnsafeMutableRawPointer(bitPattern: sequence)!, object: "test")
            return try await MappedMutex(operations).withLockAsync(when: condition, until: { first() >= 1 }, ifOwnerDied: { _ in }) {
                first() * 10
            }
        }
        #expect(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: "0x" + String(sequence, radix: 16)) != nil)
        try placed.withMutex(test.mutex) { mutex in
            try placed.withCondition(test.condition) { condition in
                _ = try mutex.lock()
                try test.store(placed, test.first, 1)
                try condition.signal()
                try mutex.unlock()
            }
        }
        #expect(try await waiter.value == 10)

        let cancelled = Task {
            let condition = MappedCondition(UnsafeMutableRawPointer(bitPattern: sequence)!, object: "test")
            return try await MappedMutex(operations).withLockAsync(when: condition, until: { first() >= 5 }, ifOwnerDied: { _ in }) { 0 }
        }
        #expect(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: "0x" + String(sequence, radix: 16)) != nil)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        // It left the mutex free.
        let taken = try placed.withMutex(test.mutex) { mutex -> MappedMutex.Acquisition? in
            let taken = try mutex.tryLock()
            if taken != nil { try mutex.unlock() }
            return taken
        }
        #expect(taken == .acquired)
    }

    /// A peer plays ping-pong with the test through the condition (it makes the
    /// counters differ, the test makes them equal again, each waking the other) and
    /// is SIGKILLed at a random point — waiting, woken, holding the mutex, between
    /// its change and its broadcast — 200 times. The test's every wait is bounded,
    /// so a lost wake-up or a wedged mutex is a failure, not a hang.
    @Test("a waiter or signaller SIGKILLed at random points 200 times never hangs a later wait")
    func killedAtRandomPoints() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        let placed = try test.create(name)
        var exchanges = 0
        for _ in 0..<200 {
            let peer = try PeerSession("cond-pingpong", [name])
            #expect(try peer.line() == "ready")
            try placed.withMutex(test.mutex) { mutex in
                try placed.withCondition(test.condition) { condition in
                    for _ in 0..<Int.random(in: 1...10) {
                        if case .previousOwnerDied = try mutex.lock(timeout: .seconds(30)) { try mutex.markConsistent() }
                        while case .previousOwnerDied = try condition.wait(
                            on: mutex, until: { try test.load(placed, test.first) > test.load(placed, test.second) },
                            timeout: .seconds(30)) {
                            try mutex.markConsistent()
                        }
                        let first = try test.load(placed, test.first), second = try test.load(placed, test.second)
                        #expect(first == second + 1)
                        try test.store(placed, test.second, first)
                        try condition.broadcast()
                        try mutex.unlock()
                        exchanges += 1
                    }
                }
            }
            #expect(try peer.kill() == .signalled(SIGKILL, coreDumped: false))
        }
        #expect(exchanges >= 200)
    }
}
