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
        spawn.inherit(leakyRead, as: 5)
        let output = try TestPeer.run(spawn).output
        #expect(output == "0 1 2 5")
        _ = leakyWrite
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
