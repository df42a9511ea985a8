@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Process-shared semaphores in shared memory (Y2)")
struct MappedSemaphoreTests {
    @Test("a semaphore initialized in shared memory is posted and waited on by another process")
    func betweenProcesses() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let mapping = try SharedMemory.create(name, size: 4096).map()
        try mapping.initializeSemaphore(at: 64, value: 0)

        #expect(try TestPeer.run(TestPeer.spawn("mapped-sem", name, "64", "post")).status == .exited(0))
        let (before, woken) = try mapping.withSemaphore(at: 64) { semaphore in
            (try semaphore.value, try semaphore.wait(until: .after(.seconds(30))))
        }
        #expect(before == 1)
        #expect(woken)

        var waiter = try TestPeer.spawn("mapped-sem", name, "64", "wait").start()
        try mapping.withSemaphore(at: 64) { try $0.post() }
        #expect(try waiter.wait() == .exited(0))
        try mapping.destroySemaphore(at: 64)
    }

    @Test("an async wait on a shared semaphore is woken by another process")
    func asyncBetweenProcesses() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let mapping = try SharedMemory.create(name, size: 4096).map()
        try mapping.initializeSemaphore(at: 0)
        async let poster = TestPeer.run(TestPeer.spawn("mapped-sem", name, "0", "post")).status
        try await mapping.withSemaphore(at: 0) { semaphore in
            try await semaphore.wait()
        }
        #expect(try await poster == .exited(0))
    }

    @Test("bad placements and values are errors")
    func badInput() throws {
        let mapping = try SharedMemory.anonymous(size: 4096).map()
        let misaligned = #expect(throws: IPCError.self) { try mapping.initializeSemaphore(at: 3) }
        #expect(misaligned?.errno == .invalidArgument)
        let outside = #expect(throws: IPCError.self) { try mapping.initializeSemaphore(at: 4096 - MappedSemaphore.size + 8) }
        #expect(outside?.errno == .outOfRange)
        let tooBig = #expect(throws: IPCError.self) { try mapping.initializeSemaphore(at: 0, value: MappedSemaphore.maximumValueForTests + 1) }
        #expect(tooBig?.errno == .invalidArgument)
        let readOnly = try SharedMemory.anonymous(size: 4096).map(.read)
        let denied = #expect(throws: IPCError.self) { try readOnly.withSemaphore(at: 0) { _ in } }
        #expect(denied?.errno == .permissionDenied)
    }
}

extension MappedSemaphore {
    static var maximumValueForTests: Int { SemaphoreOperations.maximumValue }
}
