import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc sem` (SPEC Y1), run as a process.
@Suite("ipc sem")
struct SemaphoreCommandTests {
    @Test("create, post, get, wait, rm")
    func roundTrip() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        #expect(try IPCTool.run(["sem", "create", name, "--value", "1", "--mode", "600"]).status == .exited(0))
        #expect(try IPCTool.run(["sem", "post", name]).status == .exited(0))
        #expect(try PosixSemaphore.open(name).value == 2, "the library sees the CLI's post")
        #expect(try IPCTool.run(["sem", "get", name]).stdout == "2\n")
        #expect(try IPCTool.run(["sem", "wait", name]).status == .exited(0))
        #expect(try IPCTool.run(["sem", "wait", name, "--try"]).status == .exited(0))
        #expect(try IPCTool.run(["sem", "get", name]).stdout == "0\n")
        #expect(try IPCTool.run(["sem", "rm", name]).status == .exited(0))
        #expect(!devShmContains(TestObjects.semaphoreFile(name)))
    }

    @Test("a waiting ipc sem wait is woken by a post; timeouts and would-block exit 2")
    func waitingAndTimeouts() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name)
        let wouldBlock = try IPCTool.run(["sem", "wait", name, "--try"])
        #expect(wouldBlock.status == .exited(2))
        #expect(wouldBlock.stderr.contains("would block"))
        let timedOut = try IPCTool.run(["sem", "wait", name, "--timeout", "0.05"])
        #expect(timedOut.status == .exited(2))
        #expect(timedOut.stderr.contains("timed out"))

        var waiter = try Spawn(IPCTool.path, arguments: ["sem", "wait", name, "--timeout", "60"]).start()
        try semaphore.post()
        #expect(try waiter.wait() == .exited(0))
        #expect(try semaphore.value == 0)
    }

    @Test("bad input is a clear error: 64 for bad arguments, 1 for failures")
    func errors() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let tooBig = try IPCTool.run(["sem", "create", name, "--value", "\(PosixSemaphore.maximumValue + 1)"])
        #expect(tooBig.status == .exited(64))
        #expect(tooBig.stderr.contains("SEM_VALUE_MAX"), "\(tooBig.stderr)")
        let missing = try IPCTool.run(["sem", "post", name])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("sem_open(\"\(name)\"): no such file or directory (ENOENT)"), "\(missing.stderr)")
        let badName = try IPCTool.run(["sem", "get", "/a/b"])
        #expect(badName.status == .exited(64), "a malformed name is a usage error")
        #expect(badName.stderr.contains("no slash after the first character"), "\(badName.stderr)")
        #expect(try IPCTool.run(["sem", "create", name]).status == .exited(0))
        let exists = try IPCTool.run(["sem", "create", name])
        #expect(exists.status == .exited(1))
        #expect(exists.stderr.contains("(EEXIST)"))
    }
}
