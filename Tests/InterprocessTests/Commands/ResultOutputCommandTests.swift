import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every result `ipc` writes is checked: stdout to /dev/full is an error, and a
/// command that made something says what (issue 8, items 6 and 8).
@Suite("ipc results to a full stdout")
struct ResultOutputCommandTests {
    @Test("sem get, shm stat, mq attr > /dev/full exit 1 with the write error")
    func inspection() throws {
        let semaphore = TestObjects.semaphoreName(), memory = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.semaphore(semaphore)); TestObjects.remove(.sharedMemory(memory)) }
        _ = try PosixSemaphore.create(semaphore, value: 3)
        _ = try SharedMemory.create(memory, size: 16)
        try TestObjects.withQueueName { queue in
            _ = try PosixMessageQueue.create(queue)
            defer { TestObjects.remove(.queue(queue)) }
            for arguments in [["sem", "get", semaphore], ["shm", "stat", memory], ["shm", "stat", memory, "--json"], ["mq", "attr", queue]] {
                let run = try IPCTool.run(arguments, stdinFile: nil, stdoutFile: "/dev/full")
                #expect(run.status == .exited(1), "\(arguments)")
                #expect(run.stderr.contains("write(stdout): no space left on device (ENOSPC)"), "\(arguments): \(run.stderr)")
            }
            try PosixMessageQueue.unlink(queue)
        }
    }

    @Test("msg create > /dev/full says which queue it created")
    func creation() throws {
        let key = TestObjects.systemVKey()
        let run = try IPCTool.run(["msg", "create", "--key", key.description], stdinFile: nil, stdoutFile: "/dev/full")
        let queue = try SystemVMessageQueue.open(key: key)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("created queue id \(queue.id), but write(stdout): no space left on device (ENOSPC)"), "\(run.stderr)")
    }
}
