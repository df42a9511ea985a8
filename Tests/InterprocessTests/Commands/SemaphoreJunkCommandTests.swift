import Interprocess
import Testing

/// `ipc sem` on junk: a clear error and exit status 1, never a signal (issue 8, item 1).
@Suite("ipc sem: junk in /dev/shm")
struct SemaphoreJunkCommandTests {
    @Test("get, post, wait --try and wait --timeout on a 0-byte, a 40-byte and a 32-byte text file", arguments: [
        ([], "0 bytes; a semaphore of this C library has 32"),
        (PosixSemaphoreJunkTests.fortyBytesOfText, "40 bytes; a semaphore of this C library has 32"),
        (PosixSemaphoreJunkTests.thirtyTwoBytesOfText, "its futex flag is 1752195437"),
    ] as [([UInt8], String)])
    func junkFiles(bytes: [UInt8], detail: String) throws {
        let name = TestObjects.semaphoreName()
        try DevShmFixture.file(TestObjects.semaphoreFile(name), bytes)
        defer { TestObjects.remove(.devShmFile(TestObjects.semaphoreFile(name))) }
        for arguments in [["get", name], ["post", name], ["wait", name, "--try"], ["wait", name, "--timeout", "0.1"]] {
            let result = try IPCTool.run(["sem"] + arguments, timeout: .seconds(30))
            #expect(result.status == .exited(1), "ipc sem \(arguments): \(result.status) \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("sem_open(\"\(name)\"): invalid argument (EINVAL): not a semaphore: \(detail)"), "\(result.stderr)")
        }
    }

    @Test("a FIFO under the name returns promptly with an error")
    func fifo() throws {
        let name = TestObjects.semaphoreName()
        try DevShmFixture.fifo(TestObjects.semaphoreFile(name))
        defer { TestObjects.remove(.devShmFile(TestObjects.semaphoreFile(name))) }
        let result = try IPCTool.run(["sem", "get", name], timeout: .seconds(30))
        #expect(!result.timedOut)
        #expect(result.status == .exited(1))
        #expect(result.stderr.contains("is a FIFO, not a semaphore"), "\(result.stderr)")
    }
}
