import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Shell commands: system, popen, pclose (S8)")
struct ShellCommandTests {
    @Test("the shell's exit status")
    func exitStatus() throws {
        #expect(try ShellCommand("exit 3").run() == .exited(3))
        #expect(try ShellCommand("true").run() == .exited(0))
        #expect(try ShellCommand("no-such-command-\(getpid())").run() == .exited(127))
    }

    @Test("a shell killed by a signal")
    func signalled() throws {
        #expect(try ShellCommand("kill -9 $$").run() == .signalled(SIGKILL, coreDumped: false))
    }

    @Test("reading a command's output, then its status")
    func readOutput() throws {
        let command = try ShellCommand("echo hi; exit 4").openOutput()
        #expect(try command.output.readToEnd() == Array("hi\n".utf8))
        #expect(try command.close() == .exited(4))
    }

    @Test("writing a command's input; close gives end of file and the status")
    func writeInput() throws {
        let file = TestObjects.temporaryPath("ipc-shell")
        defer { TestObjects.remove(.file(file)) }
        let command = try ShellCommand("cat > '\(file)'").openInput()
        try command.write(all: Array("to the file\n".utf8))
        #expect(try command.close() == .exited(0))
        #expect(try ShellCommand("grep -qx 'to the file' '\(file)'").run() == .exited(0))
    }

    @Test("closing the reader of a command that writes forever does not hang; the status tells why it ended")
    func closeEarly() async throws {
        let task = Task {
            let command = try ShellCommand("yes").openOutput()
            #expect(try command.output.read(upTo: 4).isEmpty == false)
            return try command.close()
        }
        let outcome = await result(of: task, within: .seconds(60))
        let status = try #require(outcome, "pclose on `yes` hung").get()
        // `yes` dies of SIGPIPE; a shell that did not exec it reports 128 + 13.
        #expect(status == .signalled(SIGPIPE, coreDumped: false) || status == .exited(128 + SIGPIPE))
    }

    @Test("the shell inherits no descriptor but 0, 1 and 2")
    func noLeakedDescriptors() throws {
        let unrelated = try Pipe()
        let command = try ShellCommand("ls /proc/self/fd").openOutput()
        let listing = String(decoding: try command.output.readToEnd(), as: UTF8.self)
        #expect(try command.close() == .exited(0))
        // 0, 1, 2 and the one `ls` opens to read the directory.
        #expect(listing.split(separator: "\n").count == 4)
        _ = unrelated
    }

    @Test("a time-bounded run kills a shell that outlives the deadline")
    func timedRun() throws {
        let error = #expect(throws: IPCError.self) { _ = try ShellCommand("exec sleep 60").run(until: .after(.milliseconds(200))) }
        #expect(error?.errno == .timedOut)
        #expect(try ShellCommand("exit 5").run(until: .after(.seconds(60))) == .exited(5))
    }

    @Test("an async run; cancelling it ends it promptly")
    func asyncRun() async throws {
        #expect(try await ShellCommand("exit 6").runAsync() == .exited(6))
        let task = Task { try await ShellCommand("exec sleep 60").runAsync() }
        task.cancel()
        let outcome = await result(of: task, within: .seconds(30))
        #expect(outcome != nil)
        #expect(throws: CancellationError.self) { try outcome?.get() }
    }
}
