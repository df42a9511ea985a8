import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The contract every `ipc` command keeps (`Sources/ipc/Contract`): one exit-status
/// table, one way not to wait, usage errors with the subcommand's usage, no
/// internals on stderr, lost output is a failure. Run as processes.
@Suite("ipc command contract")
struct CommandContractTests {
    /// The lines of the exit-status table, as `ipc --help` prints them.
    static let tableLines = [
        "  0    done",
        "  1    failed, or only partly done",
        "  2    would block, timed out, or nothing there",
        "  64   usage error",
        "  128+N  ended by signal N",
    ]

    @Test("the exit-status table is in ipc --help and in the help of every command that can block or fail")
    func exitStatusTableInHelp() throws {
        for command in [[], ["mq"], ["sem"], ["shm"], ["msg"], ["semset"]] {
            let help = try IPCTool.run(command + ["--help"], timeout: .seconds(30))
            #expect(help.status == .exited(0))
            for line in Self.tableLines {
                #expect(help.stdout.contains(line), "ipc \(command) --help lacks '\(line)'")
            }
        }
    }

    @Test("would block and timed out exit 2 for mq, sem, msg and semset alike; --nowait everywhere, --nonblock and --try as aliases")
    func notNowIsTwoEverywhere() throws {
        try TestObjects.withQueueName { queue in
            _ = try PosixMessageQueue.create(queue)
            defer { TestObjects.remove(.queue(queue)) }
            let semaphore = TestObjects.semaphoreName()
            _ = try PosixSemaphore.create(semaphore, value: 0)
            defer { TestObjects.remove(.semaphore(semaphore)) }
            let messages = try SystemVMessageQueue.create(key: .private)
            defer { TestObjects.remove(.systemV(.messageQueue, id: messages.id)) }
            let set = try SystemVSemaphoreSet.create(key: .private, count: 1)
            defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }

            let waits: [[String]] = [
                ["mq", "recv", queue], ["sem", "wait", semaphore],
                ["msg", "recv", "--id", "\(messages.id)"], ["semset", "op", "--id", "\(set.id)", "0:-1"],
            ]
            for command in waits {
                for how in [["--nowait"], ["--timeout", "0.05"], ["--nonblock"], ["--try"]] {
                    let run = try IPCTool.run(command + how, timeout: .seconds(30))
                    #expect(run.status == .exited(2), "ipc \(command + how): \(run.stderr)")
                    #expect(run.stderr.hasPrefix("ipc: ") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
                }
                let both = try IPCTool.run(command + ["--nowait", "--timeout", "1"], timeout: .seconds(30))
                #expect(both.status == .exited(64), "ipc \(command) --nowait --timeout 1: \(both.stderr)")
                #expect(both.stderr.contains("--timeout and --nowait exclude each other"), "\(both.stderr)")
                let tryAndTimeout = try IPCTool.run(command + ["--try", "--timeout", "1"], timeout: .seconds(30))
                #expect(tryAndTimeout.status == .exited(64), "ipc \(command) --try --timeout 1 is refused too")
            }
        }
    }

    @Test("usage errors exit 64 with the subcommand's own usage, wherever they are found")
    func usageErrorsShowTheSubcommandsUsage() throws {
        let semaphore = TestObjects.semaphoreName()
        let cases: [(arguments: [String], usage: String)] = [
            (["sem", "post", semaphore, "--count", "0"], "Usage: ipc sem post "),
            (["sem", "wait", semaphore, "--timeout", "-1"], "Usage: ipc sem wait "),
            (["shm", "read", "/x", "--offset", "-1"], "Usage: ipc shm read "),
            (["msg", "stat", "--key", "zz"], "Usage: ipc msg stat "),
            (["semset", "op", "--key", "0x5e000001", "zero"], "Usage: ipc semset op "),
            (["semset", "create", "--key", "0x5e000001", "--count", "2", "--values", "1"], "Usage: ipc semset create "),
            (["msg", "create", "--id", "7"], "Usage: ipc msg create "),
            (["mq", "watch", "/x", "--count", "0"], "Usage: ipc mq watch "),
        ]
        for (arguments, usage) in cases {
            let run = try IPCTool.run(arguments, timeout: .seconds(30))
            #expect(run.status == .exited(64), "ipc \(arguments): \(run.stderr)")
            #expect(run.stderr.hasPrefix("ipc: "), "\(run.stderr)")
            #expect(run.stderr.contains(usage), "ipc \(arguments): \(run.stderr)")
            #expect(!run.stderr.contains("Usage: ipc <subcommand>"), "not the top-level usage: \(run.stderr)")
        }
        #expect(!devShmContains(TestObjects.semaphoreFile(semaphore)), "nothing was done")
    }

    @Test("no ArgumentParser internals reach stderr: an error inside an option group is its message")
    func noInternals() throws {
        let run = try IPCTool.run(["rm", "msg", "--key", "0x1234", "--id", "0"], timeout: .seconds(30))
        #expect(run.status == .exited(64), "\(run.stderr)")
        for leak in ["CommandError", "commandStack", "ArgumentParser", "_Wrapped"] {
            #expect(!run.stderr.contains(leak), "\(run.stderr)")
        }
        #expect(run.stderr.hasPrefix("ipc: "), "\(run.stderr)")
    }

    @Test("negative numbers reach the option: accepted where valid, a range error where not")
    func negativeNumbers() throws {
        let messages = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: messages.id)) }
        try messages.send(Array("one".utf8), type: 1)
        let lowest = try IPCTool.run(["msg", "recv", "--id", "\(messages.id)", "--type", "-2", "--nowait"], timeout: .seconds(30))
        #expect(lowest.status == .exited(0) && lowest.stdout == "one\n", "\(lowest.stderr)")

        let refused: [([String], String)] = [
            (["mq", "send", "/x", "text", "--priority", "-1"], "give 0 to \(PosixMessageQueue.priorityLimit - 1)"),
            (["msg", "send", "--id", "\(messages.id)", "text", "--type", "-2"], "give 1 to \(Int.max)"),
            (["sem", "create", "/x", "--value", "-1"], "give 0 to \(PosixSemaphore.maximumValue) (SEM_VALUE_MAX)"),
            (["semset", "get", "--id", "\(Int32.max)", "--member", "-1"], "give 0 to"),
            (["msg", "stat", "--id", "-1"], "give 0 to 2147483647"),
            (["shm", "read", "/x", "--length", "-5"], "give 0 to \(Int.max)"),
        ]
        for (arguments, range) in refused {
            let run = try IPCTool.run(arguments, timeout: .seconds(30))
            #expect(run.status == .exited(64), "ipc \(arguments): \(run.stderr)")
            #expect(run.stderr.contains(range), "ipc \(arguments): \(run.stderr)")
            #expect(!run.stderr.contains("Missing value"), "\(run.stderr)")
        }
        #expect(try messages.status().messageCount == 0)
    }

    @Test("output that cannot be written fails the command: one line, exit 1")
    func lostOutputFails() throws {
        try TestObjects.withQueueName { queue in
            _ = try PosixMessageQueue.create(queue)
            defer { TestObjects.remove(.queue(queue)) }
            // `ls` only of queues: other tests' junk in /dev/shm would add "skipped" notes.
            for arguments in [["limits"], ["limits", "--json"], ["mq", "attr", queue], ["ls", "--kind", "mq"], ["--help"], ["--version"]] {
                let run = try IPCTool.run(arguments, stdoutPath: "/dev/full")
                #expect(run.status == .exited(1), "ipc \(arguments) > /dev/full: \(run.stderr)")
                // The first failed write's errno, even when that write was stdio's
                // and not the final flush.
                #expect(run.stderr == "ipc: write(stdout): no space left on device (ENOSPC)\n", "\(run.stderr)")
            }
        }
    }

    @Test("output to a pipe nobody reads ends ipc as it ends cat: by SIGPIPE, not a silent 0")
    func closedPipe() throws {
        let pipe = try Pipe()
        try pipe.reader.close()
        var spawn = Spawn(IPCTool.path, arguments: ["limits"])
        try spawn.inherit(pipe.writer.descriptor, as: 1)
        var child = try spawn.start()
        try pipe.writer.close()
        #expect(try child.wait() == .signalled(SIGPIPE, coreDumped: false))
    }

    @Test("ipc --version prints one version, the same for every command")
    func version() throws {
        let run = try IPCTool.run(["--version"], timeout: .seconds(30))
        #expect(run.status == .exited(0))
        let version = run.stdout.trimmingCharacters(in: ["\n"])
        let parts = version.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil }, "'\(version)'")
        #expect(try IPCTool.run(["mq", "--version"], timeout: .seconds(30)).stdout == run.stdout)
    }

    @Test("help texts carry no internal SPEC labels")
    func noSpecLabels() throws {
        let commands: [String: [String]] = [
            "mq": ["create", "send", "recv", "attr", "rm", "watch"], "sem": ["create", "wait", "post", "get", "rm"],
            "shm": ["create", "write", "read", "stat", "rm"], "msg": ["create", "send", "recv", "stat", "rm"],
            "semset": ["create", "op", "get", "set", "stat", "rm"], "limits": [],
        ]
        for (command, subcommands) in commands {
            for arguments in [[command]] + subcommands.map({ [command, $0] }) {
                let help = try IPCTool.run(arguments + ["--help"], timeout: .seconds(30))
                #expect(help.status == .exited(0))
                #expect(!help.stdout.contains("SPEC"), "ipc \(arguments) --help: \(help.stdout)")
            }
        }
    }

    @Test("a malformed POSIX name is a usage error (64) for every command that takes one, and nothing is made")
    func malformedNameIsUsageError() throws {
        let long = "/" + String(repeating: "a", count: 256)
        let cases: [([String], String)] = [
            (["mq", "create", "orders"], "a queue name starts with a slash"),
            (["mq", "send", "/a/b", "x"], "no slash after the first character"),
            (["mq", "recv", "/", "--nowait"], "at least one character after the slash"),
            (["mq", "attr", "/.."], "are not queue names"),
            (["mq", "create", long], "too long: 256 bytes after the slash; the limit is 255"),
            (["sem", "create", ""], "starts with a slash"),
            (["sem", "wait", "/a/b", "--nowait"], "no slash after the first character"),
            (["sem", "post", "ready"], "starts with a slash"),
            (["shm", "create", "seg", "--size", "1"], "starts with a slash"),
            (["shm", "read", "/."], "are not POSIX IPC names"),
            (["shm", "stat", long], "too long"),
        ]
        for (arguments, reason) in cases {
            let run = try IPCTool.run(arguments, timeout: .seconds(30))
            #expect(run.status == .exited(64), "ipc \(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("invalid for '<name>'") && run.stderr.contains(reason), "ipc \(arguments): \(run.stderr)")
            #expect(run.stderr.contains("Usage: ipc \(arguments[0]) \(arguments[1])"), "the subcommand's usage: \(run.stderr)")
        }
        #expect(access("/dev/shm/seg", F_OK) != 0 && access("/dev/shm/sem.", F_OK) != 0, "nothing was made")
    }
}
