import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct FutexTests {
    @Test func aWaitTimesOutAtItsDeadline() throws {
        let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        defer { word.deallocate() }
        word.pointee = 0
        let start = Deadline.now
        #expect(try timesOut { try Futex.wait(word, expecting: 0, until: .after(.milliseconds(50))) })
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 50_000_000)
    }

    @Test func aWaitOnAChangedWordReturnsAtOnce() throws {
        let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        defer { word.deallocate() }
        word.pointee = 5
        #expect(try !timesOut { try Futex.wait(word, expecting: 0, until: .after(.seconds(30))) })
        #expect(try Futex.wake(word, count: 1) == 0)
    }

    @Test func aMisalignedWordIsRefused() throws {
        let memory = try PosixSharedMemory.anonymous(size: 4096)
        let mapping = try memory.map()
        #expect(throws: IPCError.self) { _ = try mapping.futexWait(at: 2, expecting: 0, until: nil) }
        #expect(throws: IPCError.self) { try mapping.futexWake(at: 4096) }
    }

    @Test func aWakeReachesAWaiterInAnotherProcess() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let mapping = try PosixSharedMemory.create(name, size: 4096).map()
        let peer = try CapturedPeer(TestPeer.spawn("futex-wait", name, "30000"))
        // Wake until a sleeper was there to wake: the peer sleeps on the same word
        // through its own mapping. The word stays 0, so nothing else ends its wait.
        #expect(eventually { (try? mapping.futexWake(at: 0, count: 1)) == 1 })
        let run = try peer.finish()
        #expect(run.status == .exited(0))
        #expect(run.output == "woken")
    }

    @Test func aWaiterInAnotherProcessTimesOutAndOneOnAChangedWordDoesNot() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let mapping = try PosixSharedMemory.create(name, size: 4096).map()
        let timedOut = try runToCompletion(TestPeer.spawn("futex-wait", name, "100"), timeout: .seconds(30))
        #expect(timedOut.stdout == "timed out\n")
        try mapping.withAtomic(UInt32.self, at: 0) { $0.store(1, ordering: .releasing) }
        let changed = try runToCompletion(TestPeer.spawn("futex-wait", name, "30000"), timeout: .seconds(20))
        #expect(changed.stdout == "woken\n")
    }
}
