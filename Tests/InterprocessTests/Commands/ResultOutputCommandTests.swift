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
        _ = try PosixSharedMemory.create(memory, size: 16)
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

    /// Runs `ipc ARGUMENTS…` with stdout a pipe whose reader is already closed.
    static func runWithClosedStdout(_ arguments: [String]) throws -> (status: ChildStatus, stderr: String) {
        let closed = try Pipe(), err = try Pipe()
        try closed.reader.close()
        var spawn = Spawn(IPCTool.path, arguments: arguments)
        try spawn.inherit(closed.writer.descriptor, as: 1)
        try spawn.inherit(err.writer.descriptor, as: 2)
        var child = try spawn.start()
        try closed.writer.close()
        try err.writer.close()
        let stderr = try err.reader.readToEnd()
        return (try child.wait(), String(decoding: stderr, as: UTF8.self))
    }

    @Test("every create with stdout a closed pipe says what it created, instead of dying by SIGPIPE")
    func creationToClosedPipe() throws {
        let queueKey = TestObjects.systemVKey(), setKey = TestObjects.systemVKey(), segmentKey = TestObjects.systemVKey()
        let queue = try Self.runWithClosedStdout(["msg", "create", "--key", queueKey.description])
        let set = try Self.runWithClosedStdout(["semset", "create", "--key", setKey.description, "--count", "1"])
        let segment = try Self.runWithClosedStdout(["shm", "create", "--sysv", "--key", segmentKey.description, "--size", "1"])
        let queueID = try SystemVMessageQueue.open(key: queueKey).id
        defer { TestObjects.remove(.systemV(.messageQueue, id: queueID)) }
        let setID = try SystemVSemaphoreSet.open(key: setKey).id
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: setID)) }
        let segmentID = try SystemVSharedMemory.open(key: segmentKey).id
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segmentID)) }
        for (run, created) in [(queue, "created queue id \(queueID)"), (set, "created semaphore set id \(setID)"),
                               (segment, "created segment id \(segmentID)")] {
            #expect(run.status == .exited(1), "\(created): \(run.status) \(run.stderr)")
            #expect(run.stderr == "ipc: \(created), but write(stdout): broken pipe (EPIPE)\n", "\(run.stderr)")
        }
        try TestObjects.withQueueName { name in
            defer { TestObjects.remove(.queue(name)) }
            let run = try Self.runWithClosedStdout(["mq", "create", name])
            #expect(run.status == .exited(1), "\(run.status) \(run.stderr)")
            #expect(run.stderr.hasPrefix("ipc: created \(name): "), "\(run.stderr)")
            #expect(run.stderr.hasSuffix(", but write(stdout): broken pipe (EPIPE)\n"), "\(run.stderr)")
        }
    }
}
