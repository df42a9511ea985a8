@testable import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Counts destructor runs per thread index.
private final class DestructorCounts: Sendable {
    let total = Atomic<Int>(0)
    private let perThread: Mutex<[Int: Int]> = Mutex([:])
    func destroyed(_ index: Int) {
        total.add(1, ordering: .relaxed)
        perThread.withSanitizedLock { $0[index, default: 0] += 1 }
    }
    var counts: [Int: Int] { perThread.withSanitizedLock { $0 } }
}

/// A value with an identity, to see which one the destructor gets.
private final class Tagged: Sendable {
    let index: Int
    init(_ index: Int) { self.index = index }
}

@Suite struct ThreadSpecificKeyTests {
    @Test func destructorsRunExactlyOncePerThreadOverAThousandThreadsAndNeverForThreadsWithoutAValue() throws {
        let counts = DestructorCounts()
        let key = try ThreadSpecificKey<Tagged> { counts.destroyed($0.index) }
        defer { try? key.delete() }
        let setters = 1000, others = 200
        // Batches of 100 live threads, so the test does not depend on the thread limit.
        for batch in stride(from: 0, to: setters + others, by: 100) {
            var threads: [PendingThread<Void, IPCError>] = []
            for index in batch..<min(batch + 100, setters + others) {
                threads.append(PendingThread(try PosixThread<Void, IPCError>.start(name: "t-tsd", stackSize: 64 * 1024) { () throws(IPCError) in
                    if index < setters {
                        try key.set(Tagged(index))
                        try key.set(Tagged(index))  // replaces: the first one gets no destructor
                    } else if index % 2 == 0 {
                        try key.set(Tagged(index))
                        try key.set(nil)  // removed again: nothing held at exit
                    }
                }))
            }
            for thread in threads { _ = try thread.join() }
        }
        #expect(counts.total.load(ordering: .relaxed) == setters)
        let perThread = counts.counts
        #expect(perThread.count == setters)
        #expect(perThread.keys.allSatisfy { $0 < setters })
        #expect(perThread.values.allSatisfy { $0 == 1 })
    }

    @Test func eachThreadSeesItsOwnValue() throws {
        let key = try ThreadSpecificKey<Int>()
        defer { try? key.delete() }
        try key.set(1)
        let thread = try PosixThread<[Int?], IPCError>.start(name: "t-tsd-own") { () throws(IPCError) -> [Int?] in
            let before = key.value
            try key.set(2)
            return [before, key.value]
        }
        let values = try thread.join()
        #expect(values == [nil, 2])
        #expect(key.value == 1)
        try key.set(nil)
        #expect(key.value == nil)
    }

    @Test func deletingAKeyRunsNoDestructor() throws {
        let counts = DestructorCounts()
        let key = try ThreadSpecificKey<Tagged> { counts.destroyed($0.index) }
        let holding = try ThreadSignal(), deleted = try ThreadSignal()
        let thread = try PosixThread<Void, any Error>.start(name: "t-tsd-delete") {
            try key.set(Tagged(1))
            try holding.post()
            try deleted.wait()
        }
        try holding.wait()
        try key.delete()
        try deleted.post()
        try thread.join()
        #expect(counts.total.load(ordering: .relaxed) == 0)
        #expect(key.value == nil)
        let set = #expect(throws: IPCError.self) { try key.set(Tagged(2)) }
        #expect(set?.errno == .invalidArgument)
        let again = #expect(throws: IPCError.self) { try key.delete() }
        #expect(again?.errno == .invalidArgument)
    }

    @Test func theDestructorRunsOnTheExitingThreadAfterTheCleanupHandlers() throws {
        let log = EventLog()
        let key = try ThreadSpecificKey<String> { log.record("destructor \($0) on \(ThreadAttributesSeen.current().name)") }
        defer { try? key.delete() }
        let thread = try PosixThread<Void, any Error>.start(name: "t-tsd-order") {
            try key.set("v")
            try CurrentThread.pushCleanup { log.record("cleanup") }
        }
        try thread.join()
        #expect(log.all == ["cleanup", "destructor v on t-tsd-order"])
    }
}
