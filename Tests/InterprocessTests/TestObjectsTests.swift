import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tests' own fixture (`Support/TestObjects.swift`): every test relies on it to
/// leave nothing behind, so each kind of removal is checked here.
@Suite("Test fixture: unique names and removal")
struct TestObjectsTests {
    @Test("names differ between calls and carry the pid; System V keys carry the tests' byte")
    func names() {
        let first = TestObjects.posixName("ipct-fixture"), second = TestObjects.posixName("ipct-fixture")
        #expect(first != second)
        #expect(first.hasPrefix("/ipct-fixture-\(getpid())-"))
        #expect(TestObjects.temporaryPath("ipct-fixture", suffix: ".json").hasPrefix("/tmp/ipct-fixture-\(getpid())-"))
        #expect(UInt32(bitPattern: TestObjects.systemVKey().rawValue) >> 24 == 0x5e)
    }

    @Test("removes a queue, a shared memory object, a semaphore, a FIFO, a file and /dev/shm junk")
    func removesPosixObjectsAndFiles() throws {
        let queue = TestObjects.posixName("ipct-fixture-mq")
        let memory = TestObjects.sharedMemoryName(), semaphore = TestObjects.semaphoreName()
        let fifo = FilePath(TestObjects.temporaryPath("ipct-fixture-fifo")), file = TestObjects.temporaryPath("ipct-fixture-file")
        let junk = String(TestObjects.posixName("ipct-fixture-junk").dropFirst())
        _ = try PosixMessageQueue.create(queue)
        _ = try PosixSharedMemory.create(PosixIPCName(memory))
        _ = try PosixSemaphore.create(semaphore)
        try FIFO.create(at: fifo)
        try DevShmFixture.file(junk, [1])
        let descriptor = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        close(descriptor)

        for object: TestObject in [.queue(queue), .sharedMemory(memory), .semaphore(semaphore), .fifo(fifo), .file(file), .devShmFile(junk)] {
            TestObjects.remove(object)
            TestObjects.remove(object)  // already gone is fine
        }
        #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(queue) }
        #expect(access("/dev/shm" + memory, F_OK) != 0)
        #expect(access("/dev/shm/" + TestObjects.semaphoreFile(semaphore), F_OK) != 0)
        #expect(access(fifo.string, F_OK) != 0 && access(file, F_OK) != 0)
        #expect(access("/dev/shm/" + junk, F_OK) != 0)
    }

    @Test("removes a System V object by id")
    func removesSystemVObjects() throws {
        let queue = try SystemVMessageQueue.create(key: TestObjects.systemVKey())
        TestObjects.remove(.systemV(.messageQueue, id: queue.id))
        TestObjects.remove(.systemV(.messageQueue, id: queue.id))
        #expect(throws: IPCError.self) { _ = try SystemVMessageQueue(id: queue.id) }
    }
}
