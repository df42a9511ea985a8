import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc shm` (SPEC H3), run as a process.
@Suite("ipc shm")
struct SharedMemoryCommandTests {
    @Test("create, write from stdin, read raw bytes, stat, rm")
    func roundTrip() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try IPCTool.run(["shm", "create", name, "--size", "4096"]).status == .exited(0))
        let payload: [UInt8] = Array("binary\u{0}bytes\n".utf8) + [0xFF, 0x00, 0x80]
        let write = try IPCTool.run(["shm", "write", name, "--offset", "100"], input: payload)
        #expect(write.status == .exited(0), "\(write.stderr)")
        #expect(try PosixSharedMemory.open(name).map().read(count: payload.count, from: 100) == payload, "the library sees the CLI's bytes")

        let read = try IPCTool.run(["shm", "read", name, "--offset", "100", "--length", "\(payload.count)"], input: [])
        #expect(read.status == .exited(0))
        #expect(read.stdout == payload, "raw bytes, nothing added")
        let whole = try IPCTool.run(["shm", "read", name], input: [])
        #expect(whole.stdout.count == 4096)

        let stat = try IPCTool.run(["shm", "stat", name])
        #expect(stat.stdout == "name: \(name)\nsize: 4096\nmode: 0600\nuid: \(getuid())\ngid: \(getgid())\n")
        let json = try IPCTool.run(["shm", "stat", name, "--json"])
        #expect(json.stdout.contains("\"size\": 4096") && json.stdout.contains("\"mode\": \"0600\""), "\(json.stdout)")

        #expect(try IPCTool.run(["shm", "rm", name]).status == .exited(0))
        #expect(!devShmContains(String(name.dropFirst())))
    }

    @Test("--mode, --grow, and clear errors with a non-zero exit")
    func optionsAndErrors() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try IPCTool.run(["shm", "create", name, "--size", "8", "--mode", "640"]).status == .exited(0))
        #expect(try PosixSharedMemory.open(name).info().permissions.rawValue == 0o640)

        let exists = try IPCTool.run(["shm", "create", name, "--size", "8"])
        #expect(exists.status == .exited(1))
        #expect(exists.stderr.contains("shm_open(\"\(name)\"): file exists (EEXIST)"), "\(exists.stderr)")

        let tooBig = try IPCTool.run(["shm", "write", name], input: Array("0123456789".utf8))
        #expect(tooBig.status == .exited(1))
        #expect(tooBig.stderr.contains("stdin has more than 8 bytes"), "\(tooBig.stderr)")
        let grown = try IPCTool.run(["shm", "write", name, "--grow"], input: Array("0123456789".utf8))
        #expect(grown.status == .exited(0), "\(grown.stderr)")
        #expect(try PosixSharedMemory.open(name).size == 10)

        let past = try IPCTool.run(["shm", "read", name, "--offset", "8", "--length", "16"], input: [])
        #expect(past.status == .exited(1))
        #expect(past.stderr.contains("past the end"), "\(past.stderr)")
        let huge = try IPCTool.run(["shm", "read", name, "--offset", "1", "--length", "\(Int.max)"], input: [])
        #expect(huge.status == .exited(1) && huge.stderr.contains("past the end"), "no overflow trap: \(huge.stderr)")
        let farOff = try IPCTool.run(["shm", "write", name, "--offset", "\(Int.max)", "--grow"], input: Array("x".utf8))
        #expect(farOff.status == .exited(1) && farOff.stderr.contains("past any possible size"), "\(farOff.stderr)")

        let badName = try IPCTool.run(["shm", "stat", "no-slash"])
        #expect(badName.status == .exited(64), "a malformed name is a usage error")
        #expect(badName.stderr.contains("a POSIX IPC name starts with a slash"), "\(badName.stderr)")
        let missing = try IPCTool.run(["shm", "rm", name + "-missing"])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("(ENOENT)"))
        let badMode = try IPCTool.run(["shm", "create", name + "-m", "--size", "1", "--mode", "9"])
        #expect(badMode.status != .exited(0))
    }
}
