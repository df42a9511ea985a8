@testable import Interprocess
import CInterprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `futex_waitv`'s number, as /proc/.../syscall shows it (449 on x86_64 and arm64).
let futexWaitvSyscall = "449"

/// A thread of this process that runs `body` — a participant needs a thread of
/// its own — and keeps its one-line outcome for `join()`.
final class ParticipantThread: @unchecked Sendable {
    private var outcome = ""
    private var thread = pthread_t()

    init(_ body: @escaping @Sendable () throws -> String) throws {
        thread = try LibraryThread.start(name: "barrier-test") { [unowned self] in
            do { self.outcome = try body() } catch let error as IPCError {
                self.outcome = describe(error)
            } catch {
                self.outcome = "\(error)"
            }
        }
    }

    /// Waits for the thread to end; its outcome.
    func join() -> String {
        LibraryThread.join(thread)
        return outcome
    }
}

/// "serial" or "other", as the peer's barrier commands print an arrival.
func describe(_ arrival: MappedBarrier.Arrival) -> String { arrival.isSerial ? "serial" : "other" }

/// "ERRNO detail", as the peer's barrier commands print an error.
func describe(_ error: IPCError) -> String { "\(error.errnoName) \(error.detail ?? "")" }

/// The outcome line of a wait that found participant `pid` dead.
func diedLine(_ pid: pid_t) -> String { "EOWNERDEAD participant pid \(pid) died" }

@Suite("Crash-safe barriers (Y7)", .serialized)
struct MappedBarrierTests {
    /// The arrivals counted in the barrier's current round.
    static func arrivals(_ placed: borrowing PlacedMapping, _ test: SpinBarrierTestLayout) throws -> UInt32 {
        try placed.withBarrier(test.barrier) { UInt32(truncatingIfNeeded: $0.operations.round.pointee.load(ordering: .relaxed)) }
            & BarrierOperations.arrivalsMask
    }

    @Test("two threads here and two other processes: exactly one serial waiter per round over 10,000 rounds")
    func oneSerialPerRound() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let rounds = 10_000
        let test = try SpinBarrierTestLayout(participants: 4, rounds: rounds)
        let placed = try test.create(name)
        let peers = try (0..<2).map { _ in try PeerSession("barrier-rounds", [name, "4", String(rounds)]) }
        for peer in peers { #expect(try peer.line() == "joined") }
        let threads = try (0..<2).map { _ in
            try ParticipantThread {
                let placed = try test.open(name)
                return try placed.withBarrier(test.barrier) { barrier in
                    try barrier.withParticipant { me throws in
                        for round in 0..<rounds { try test.round(round, placed, barrier, me) }
                        return "done"
                    }
                }
            }
        }
        for thread in threads { #expect(thread.join() == "done") }
        for peer in peers { #expect(try peer.line(timeout: .seconds(300)) == "done") }
        #expect(try test.load(placed, test.arrivals) == UInt64(4 * rounds))
        #expect(try test.load(placed, test.violations) == 0)
        let wrong = try (0..<rounds).filter { try test.serialCount(placed, round: $0) != 1 }
        #expect(wrong.isEmpty, "rounds without exactly one serial waiter: \(wrong.prefix(10))")
    }

    @Test("a time-bounded wait throws ETIMEDOUT and withdraws its arrival: the next round does not complete early")
    func timedWaitWithdraws() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        let placed = try test.create(name)
        try placed.withBarrier(test.barrier) { barrier in
            try barrier.withParticipant { me throws in
                let late = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, timeout: .milliseconds(20)) }
                #expect(late?.errno == .timedOut)
                #expect(try Self.arrivals(placed, test) == 0)
                let past = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, until: .after(.zero)) }
                #expect(past?.errno == .timedOut)
                #expect(try Self.arrivals(placed, test) == 0)
                // Had an arrival stayed counted, this one would complete the round at once.
                let alone = try TestPeer.run(TestPeer.spawn("barrier-wait", name, "2", "1", "100")).output
                #expect(alone.hasPrefix("joined\nETIMEDOUT"))
                // A real round still completes, with one serial waiter.
                let peer = try PeerSession("barrier-wait", [name, "2", "1", "30000"])
                #expect(try peer.line() == "joined")
                let mine = try barrier.wait(as: me, timeout: .seconds(30))
                let theirs = try peer.line()
                #expect([describe(mine), theirs].sorted() == ["other", "serial"])
            }
        }
    }

    @Test("async: a wait is woken by another process's arrival; a cancelled one throws CancellationError and withdraws")
    func asyncWokenAndCancelled() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        let placed = try test.create(name)
        let operations = try placed.withBarrier(test.barrier) { $0.operations }

        let peer = try PeerSession("barrier-wait", [name, "2", "1", "30000"])
        #expect(try peer.line() == "joined")
        let woken = try await MappedBarrier(operations).withParticipantAsync { me in
            try await MappedBarrier(operations).waitAsync(as: me, timeout: .seconds(30))
        }
        #expect([describe(woken), try peer.line()].sorted() == ["other", "serial"])

        let waiting = Task {
            try await MappedBarrier(operations).withParticipantAsync { me in
                // Bounded: a cancellation that did not work ends in ETIMEDOUT, a failure.
                try await MappedBarrier(operations).waitAsync(as: me, timeout: .seconds(30))
            }
        }
        #expect(await engineWorker(blockedIn: [futexWaitvSyscall], firstArgument: nil) != nil)
        #expect(try Self.arrivals(placed, test) == 1)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        #expect(try Self.arrivals(placed, test) == 0)
        // Both slots are free again: the participation's thread left.
        #expect((0..<2).allSatisfy { operations.holder($0).thread == 0 })
        let alone = try TestPeer.run(TestPeer.spawn("barrier-wait", name, "2", "1", "100")).output
        #expect(alone.hasPrefix("joined\nETIMEDOUT"))
    }

    @Test("joining beyond N is EUSERS; a slot left is taken again; only the joining thread may leave")
    func joinLeaveRejoin() throws {
        #expect(throws: IPCError.self) { var layout = try SharedLayout(type: "b", version: 1); _ = try layout.barrier(participants: 0) }
        #expect(throws: IPCError.self) { var layout = try SharedLayout(type: "b", version: 1); _ = try layout.barrier(participants: 128) }
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        let placed = try test.create(name)
        let first = try PeerSession("barrier-join", [name, "2", "1"])
        #expect(try first.line() == "joined 0")
        try placed.withBarrier(test.barrier) { barrier in
            let me = try barrier.join()
            #expect(me.slot == 1)
            #expect(try TestPeer.run(TestPeer.spawn("barrier-join", name, "2", "1")).output == "EUSERS")
            // Another thread of this process cannot leave for it.
            let operations = barrier.operations, thread = me.thread
            let stranger = try ParticipantThread {
                let barrier = MappedBarrier(operations)
                let copy = MappedBarrier.Participant(slot: 1, thread: thread, barrier: UInt(bitPattern: operations.base))
                do throws(IPCError) { try barrier.leave(copy) } catch { return error.errnoName }
                return "left"
            }
            #expect(stranger.join() == "EPERM")
            try barrier.leave(me)
            let again = try barrier.join()
            #expect(again.slot == 1)
            try barrier.leave(again)
        }
        try first.send("leave")
        #expect(try first.line() == "left")
        #expect(try first.finish() == .exited(0))
        let rejoined = try PeerSession("barrier-join", [name, "2", "1"])
        #expect(try rejoined.line() == "joined 0")
        try rejoined.send("leave")
        #expect(try rejoined.line() == "left")
    }

    /// The heart of Y7: a participant that joined and was SIGKILLed before arriving
    /// turns the others' waits — asleep in this process and in another — into
    /// `EOWNERDEAD` naming it (every wait bounded by 30 s, and the outcome checked
    /// to be the death, not the deadline). Both with `futex_waitv` and with the
    /// fallback for kernels without it.
    @Test("a participant SIGKILLed before arriving: the others' waits throw EOWNERDEAD naming it", arguments: [false, true])
    func participantKilledBeforeArriving(sliceSleep: Bool) throws {
        BarrierOperations.forcesSliceSleep.store(sliceSleep, ordering: .relaxed)
        defer { BarrierOperations.forcesSliceSleep.store(false, ordering: .relaxed) }
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 3)
        let placed = try test.create(name)
        let doomed = try PeerSession("barrier-join", [name, "3", "1"])
        #expect(try doomed.line() == "joined 0")
        let other = try PeerSession("barrier-wait", [name, "3", "1", "30000"])
        #expect(try other.line() == "joined")
        let mine = try ParticipantThread {
            let placed = try test.open(name)
            return try placed.withBarrier(test.barrier) { barrier in
                try barrier.withParticipant { me in describe(try barrier.wait(as: me, timeout: .seconds(30))) }
            }
        }
        #expect(eventually { (try? Self.arrivals(placed, test)) == 2 })
        #expect(waitUntilBlocked(pid: other.pid, inSyscall: Int(futexWaitvSyscall)!))
        #expect(try doomed.kill() == .signalled(SIGKILL, coreDumped: false))
        #expect(mine.join().hasPrefix(diedLine(doomed.pid)))
        #expect(try other.line().hasPrefix(diedLine(doomed.pid)))
        // Later waits are told too, at once: a broken barrier stays broken.
        try placed.withBarrier(test.barrier) { barrier in
            try barrier.withParticipant { me throws in
                let later = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, timeout: .seconds(30)) }
                #expect(later?.errno == .previousOwnerDied)
                #expect(later?.detail?.contains("pid \(doomed.pid) ") == true)
            }
        }
    }

    @Test("a participant that exits without leaving is a dead participant (L3)")
    func participantExitIsDeath() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        let placed = try test.create(name)
        let leaver = try PeerSession("barrier-join", [name, "2", "1"])
        #expect(try leaver.line() == "joined 0")
        try placed.withBarrier(test.barrier) { barrier in
            try barrier.withParticipant { me throws in
                #expect(try leaver.finish() == .exited(0))
                let told = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, timeout: .seconds(30)) }
                #expect(told?.errno == .previousOwnerDied)
                #expect(told?.detail?.contains("pid \(leaver.pid) ") == true)
            }
        }
    }

    @Test("a participant that calls exec has left for good: the kernel releases its presence lock at exec (L3)")
    func participantExecIsDeath() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        let placed = try test.create(name)
        let execer = try PeerSession("barrier-join", [name, "2", "1", "exec"])
        #expect(try execer.line() == "joined 0")
        try placed.withBarrier(test.barrier) { barrier in
            try barrier.withParticipant { me throws in
                try execer.send("go")
                #expect(try execer.line() == "exec")
                try execer.send("echoed by cat")
                #expect(try execer.line() == "echoed by cat")  // the same pid now runs cat
                let told = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, timeout: .seconds(30)) }
                #expect(told?.errno == .previousOwnerDied)
                #expect(told?.detail?.contains("pid \(execer.pid) ") == true)
            }
        }
        #expect(try execer.finish() == .exited(0))
    }

    @Test("a barrier made by a process that has exited serves others (L3: lives as long as the memory)")
    func creatorExits() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        #expect(try TestPeer.run(TestPeer.spawn("barrier-create", name, "2", "1")).output == "created")
        let placed = try test.open(name)
        let peer = try PeerSession("barrier-wait", [name, "2", "1", "30000"])
        #expect(try peer.line() == "joined")
        let mine = try placed.withBarrier(test.barrier) { barrier in
            try barrier.withParticipant { try barrier.wait(as: $0, timeout: .seconds(30)) }
        }
        #expect([describe(mine), try peer.line()].sorted() == ["other", "serial"])
    }

    @Test("fork: the child holds neither the parent's spin lock nor its slot; a slot it joins dies with it (L3)")
    func forkedChild() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try SpinBarrierTestLayout(participants: 2)
        _ = try test.create(name)
        let lines = try TestPeer.run(TestPeer.spawn("spin-barrier-fork", name)).output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        guard lines.count == 3, let child = Int32(lines[0].split(separator: " ").last ?? "") else { return }
        #expect(lines[0] == "child 7 \(child)")
        #expect(lines[1].hasPrefix(diedLine(child)))
        #expect(lines[2] == "unlocked")
    }

    /// Y7 under fire: a peer looping barrier rounds with this process is SIGKILLed
    /// at a random moment (after a random number of rounds, then a random spin),
    /// 200 times. Each wait of this process either completes or throws the death
    /// error naming the peer — never times out — and the death is always told.
    @Test("a participant SIGKILLed at random points 200 times: no hang, the death is told naming it")
    func killedAtRandomPoints() throws {
        var told = 0
        for _ in 0..<200 {
            let name = TestObjects.sharedMemoryName()
            defer { TestObjects.remove(.sharedMemory(name)) }
            let test = try SpinBarrierTestLayout(participants: 2)
            let placed = try test.create(name)
            let peer = try PeerSession("barrier-loop", [name, "2", "1"])
            #expect(try peer.line() == "ready")
            let pid = peer.pid, target = UInt64.random(in: 1...40), spins = Int.random(in: 0..<50_000)
            let passed = UInt(bitPattern: placed.mapping.base + test.passed.offset)
            let killer = try LibraryThread.start(name: "barrier-killer") {
                let counter = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: passed)!
                _ = eventually(timeout: .seconds(60)) { counter.pointee.load(ordering: .relaxed) >= target }
                for _ in 0..<spins { cipc_cpu_relax() }
                kill(pid, SIGKILL)
            }
            try placed.withBarrier(test.barrier) { barrier in
                try barrier.withParticipant { me throws in
                    for _ in 0..<100_000 {
                        do throws(IPCError) {
                            _ = try barrier.wait(as: me, timeout: .seconds(30))
                        } catch {
                            #expect(error.errno == .previousOwnerDied, "\(error)")
                            #expect(error.detail?.contains("pid \(pid) ") == true, "\(error)")
                            if error.errno == .previousOwnerDied { told += 1 }
                            return
                        }
                    }
                    Issue.record("the peer's death was never told")
                }
            }
            LibraryThread.join(killer)
            #expect(try peer.kill() == .signalled(SIGKILL, coreDumped: false))
        }
        #expect(told == 200)
    }

    @Test("junk in the barrier's memory makes a wait fail with EINVAL, never trap")
    func junk() throws {
        let test = try SpinBarrierTestLayout(participants: 2)
        let placed = try PlacedMapping.create(test.layout, in: PosixSharedMemory.anonymous(size: test.layout.size).map())
        try placed.withBarrier(test.barrier) { barrier in
            try barrier.withParticipant { me throws in
                try placed.mapping.store(UInt32(0x7f), at: test.barrier.offset)  // 127 arrivals of 2
                let counted = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, timeout: .seconds(30)) }
                #expect(counted?.errno == .invalidArgument)
                try placed.mapping.store(UInt32(0), at: test.barrier.offset)
                // The presence word of this participant overwritten: refused, not trusted.
                let slot = test.barrier.offset + BarrierOperations.headerSize + me.slot * BarrierOperations.slotStride
                let saved = try placed.mapping.load(UInt32.self, at: slot)
                try placed.mapping.store(UInt32(12345), at: slot)
                let stolen = #expect(throws: IPCError.self) { _ = try barrier.wait(as: me, timeout: .seconds(30)) }
                #expect(stolen?.errno == .invalidArgument)
                try placed.mapping.store(saved, at: slot)
            }
        }
    }
}
