@testable import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Process-shared semaphores in shared memory (Y2)")
struct MappedSemaphoreTests {
    @Test("a semaphore placed in shared memory is posted and waited on by another process")
    func betweenProcesses() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout(type: "mapped-sem", version: 1)
        let placed = try PlacedMapping.create(test.layout, in: PosixSharedMemory.create(name, size: test.layout.size).map())

        #expect(try TestPeer.run(TestPeer.spawn("mapped-sem", name, "post")).status == .exited(0))
        let before = try placed.withSemaphore(test.semaphore) { semaphore in
            let value = try semaphore.value
            try semaphore.wait(timeout: .seconds(30))
            return value
        }
        #expect(before == 1)

        var waiter = try TestPeer.spawn("mapped-sem", name, "wait").start()
        try placed.withSemaphore(test.semaphore) { try $0.post() }
        #expect(try waiter.wait() == .exited(0))
    }

    @Test("an async wait on a shared semaphore is woken by another process")
    func asyncBetweenProcesses() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout(type: "mapped-sem", version: 1)
        let placed = try PlacedMapping.create(test.layout, in: PosixSharedMemory.create(name, size: test.layout.size).map())
        async let poster = TestPeer.run(TestPeer.spawn("mapped-sem", name, "post")).status
        try await placed.withSemaphore(test.semaphore) { semaphore in
            try await semaphore.waitAsync()
        }
        #expect(try await poster == .exited(0))
    }

    @Test("a ready semaphore cannot be initialised again: a second create is EEXIST and the value survives")
    func noSecondInitialisation() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout(type: "mapped-sem", version: 1)
        let memory = try PosixSharedMemory.create(name, size: test.layout.size)
        let placed = try PlacedMapping.create(test.layout, in: memory.map())
        try placed.withSemaphore(test.semaphore) { try $0.post(); try $0.post() }

        let again = #expect(throws: IPCError.self) { _ = try PlacedMapping.create(test.layout, in: memory.map()) }
        #expect(again?.errno == .fileExists)
        #expect(again?.detail?.contains("pid \(getpid())") == true, "\(String(describing: again))")
        // From another process too.
        #expect(try TestPeer.run(TestPeer.spawn("placed-create", name, "mapped-sem", "1", "now")).output == "EEXIST")
        #expect(try placed.withSemaphore(test.semaphore) { try $0.value } == 2)
    }

    @Test("bad values, read-only mappings and places of another layout are errors")
    func badInput() throws {
        var layout = try SharedLayout(type: "bad-input", version: 1)
        let tooBig = #expect(throws: IPCError.self) { _ = try layout.semaphore(value: MappedSemaphore.maximumValueForTests + 1) }
        #expect(tooBig?.errno == .invalidArgument)
        let semaphore = try layout.semaphore()

        let memory = try PosixSharedMemory.anonymous(size: layout.size)
        let denied = #expect(throws: IPCError.self) { _ = try PlacedMapping.create(layout, in: memory.map(.read)) }
        #expect(denied?.errno == .permissionDenied)

        var other = try SharedLayout(type: "other", version: 1)
        _ = try other.bytes(count: 8)
        let stranger = try other.semaphore()
        let placed = try PlacedMapping.create(layout, in: PosixSharedMemory.anonymous(size: layout.size).map())
        try placed.withSemaphore(semaphore) { try $0.post() }
        let foreign = #expect(throws: IPCError.self) { try placed.withSemaphore(stranger) { try $0.post() } }
        #expect(foreign?.errno == .invalidArgument)
    }
}

extension MappedSemaphore {
    static var maximumValueForTests: Int { SemaphoreOperations.maximumValue }
}
