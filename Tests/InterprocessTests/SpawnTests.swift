import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Spawn and wait (P1, P2)")
struct SpawnTests {
    @Test("exit status is decoded")
    func exitStatus() throws {
        var child = try TestPeer.spawn("exit", "7").start()
        #expect(try child.wait() == .exited(7))
    }

    @Test("working directory and environment reach the child")
    func workingDirectoryAndEnvironment() throws {
        var spawn = TestPeer.spawn("pwd")
        spawn.workingDirectory = "/tmp"
        #expect(try TestPeer.run(spawn).output == "/tmp")

        var env = TestPeer.spawn("env", "IPC_TEST_VALUE")
        env.environment = .inheritUpdating(["IPC_TEST_VALUE": "forty-two"])
        #expect(try TestPeer.run(env).output == "forty-two")

        var cleared = TestPeer.spawn("env", "HOME")
        cleared.environment = .custom([:])
        #expect(try TestPeer.run(cleared).status == .exited(1))
    }

    @Test("only the chosen descriptors are inherited, at the chosen numbers")
    func descriptorMap() throws {
        var fds: [CInt] = [0, 0]
        #expect(pipe(&fds) == 0)  // deliberately NOT close-on-exec: must still not leak
        let leakyRead = OwnedDescriptor(adopting: FileDescriptor(rawValue: fds[0]))
        let leakyWrite = OwnedDescriptor(adopting: FileDescriptor(rawValue: fds[1]))
        var spawn = TestPeer.spawn("open-fds")
        try spawn.inherit(leakyRead, as: 5)
        let output = try TestPeer.run(spawn).output
        #expect(output == "0 1 2 5")
        _ = leakyWrite
    }

    @Test("the spawn keeps its own duplicate: the caller may close its descriptor at once, and the child still gets that file")
    func inheritKeepsDuplicate() throws {
        let pipe = try Pipe()
        var spawn = TestPeer.spawn("write-records", "3", "7", "1")
        try spawn.inherit(pipe.writer.descriptor, as: 3)
        try pipe.writer.close()
        // The next descriptors opened here take the lowest free numbers: the write
        // end's among them. Without its own duplicate the spawn would hand one of these.
        let other = try Pipe()
        var child = try spawn.start()
        #expect(try child.wait() == .exited(0))
        #expect(try pipe.reader.readToEnd() == [UInt8](repeating: 7, count: Pipe.atomicWriteLimit))
        try other.writer.close()
        #expect(try other.reader.readToEnd().isEmpty)
    }

    @Test("start hands the duplicates over: the reader sees end of file while the spawn lives; a second start needs them named again; a failed start keeps them")
    func startHandsDuplicatesOver() throws {
        let pipe = try Pipe()
        var failing = Spawn("/nonexistent/program")
        try failing.inherit(pipe.writer.descriptor, as: 3)
        #expect(throws: IPCError.self) { _ = try failing.start() }
        #expect(failing.inheritedNumbers == [3])

        var spawn = TestPeer.spawn("write-records", "3", "7", "1")
        try spawn.inherit(pipe.writer.descriptor, as: 3)
        try pipe.writer.close()
        var child = try spawn.start()
        #expect(try child.wait() == .exited(0))
        // `spawn` is still alive here, and the failed spawn's duplicate was put back:
        // drop that one, and the child's and the caller's ends were the only others.
        _ = consume failing
        #expect(try pipe.reader.readToEnd() == [UInt8](repeating: 7, count: Pipe.atomicWriteLimit))

        let again = #expect(throws: IPCError.self) { _ = try spawn.start() }
        #expect(again?.errno == .badFileDescriptor)
        #expect(again?.detail?.contains("name it again") == true)
    }

    @Test("inherit refuses a negative number and a descriptor that is not open, at once")
    func inheritChecks() throws {
        let pipe = try Pipe()
        var spawn = TestPeer.spawn("exit", "0")
        let negative = #expect(throws: IPCError.self) { try spawn.inherit(pipe.reader.descriptor, as: -1) }
        #expect(negative?.errno == .badFileDescriptor)
        // A number above any RLIMIT_NOFILE, so no parallel test can have it open.
        let stale = OwnedDescriptor(adopting: FileDescriptor(rawValue: 0x3fff_fff0))
        let closed = #expect(throws: IPCError.self) { try spawn.inherit(stale, as: 3) }
        #expect(closed?.errno == .badFileDescriptor)
        _ = stale.release()  // nothing to close
        #expect(spawn.inheritedNumbers.isEmpty)
        try spawn.inherit(pipe.reader.descriptor, as: 4)
        try spawn.inherit(pipe.writer.descriptor, as: 3)
        #expect(spawn.inheritedNumbers == [3, 4])
    }

    @Test("a missing executable is a clear error")
    func missingExecutable() throws {
        let error = #expect(throws: IPCError.self) {
            _ = try Spawn("/nonexistent/program").start()
        }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description.hasPrefix("posix_spawn(\"/nonexistent/program\"): no such file or directory (ENOENT)") == true)
    }
}
