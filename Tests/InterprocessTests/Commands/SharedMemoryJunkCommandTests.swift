import Interprocess
import Testing

/// `ipc shm stat|read` on a FIFO or a directory: a prompt error (issue 8, item 3).
@Suite("ipc shm: junk in /dev/shm")
struct SharedMemoryJunkCommandTests {
    @Test("stat and read of a FIFO return promptly with an error; of a directory too")
    func fifoAndDirectory() throws {
        let fifo = TestObjects.posixName("ipct-shm-junk"), directory = TestObjects.posixName("ipct-shm-junk")
        try DevShmFixture.fifo(String(fifo.dropFirst()))
        try DevShmFixture.directory(String(directory.dropFirst()))
        defer {
            TestObjects.remove(.devShmFile(String(fifo.dropFirst())))
            TestObjects.remove(.devShmFile(String(directory.dropFirst())))
        }
        for command in ["stat", "read"] {
            let onFIFO = try IPCTool.run(["shm", command, fifo], timeout: .seconds(30))
            #expect(!onFIFO.timedOut, "ipc shm \(command) waited on a FIFO")
            #expect(onFIFO.status == .exited(1))
            #expect(onFIFO.stderr.contains("is a FIFO, not a shared memory object"), "\(onFIFO.stderr)")
            let onDirectory = try IPCTool.run(["shm", command, directory], timeout: .seconds(30))
            #expect(onDirectory.status == .exited(1))
            #expect(onDirectory.stdout.isEmpty)
            #expect(onDirectory.stderr.contains("is a directory, not a shared memory object"), "\(onDirectory.stderr)")
        }
    }
}
