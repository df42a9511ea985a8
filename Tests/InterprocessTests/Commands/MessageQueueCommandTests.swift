import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc mq` (SPEC M1, M2), run as a process the way a person runs it.
@Suite("ipc mq")
struct MessageQueueCommandTests {
    @Test("create, send with priorities, attr, recv in priority order, rm")
    func roundTrip() throws {
        try TestObjects.withQueueName { name in
            let created = try IPCTool.run(["mq", "create", name, "--max-messages", "4", "--message-size", "128", "--mode", "640"])
            #expect(created.status == .exited(0), "\(created.stderr)")
            #expect(created.stdout == "created \(name): 4 messages of at most 128 bytes\n")

            for (text, priority) in [("low", "1"), ("urgent order", "7"), ("normal", "3")] {
                let sent = try IPCTool.run(["mq", "send", name, text, "--priority", priority])
                #expect(sent.status == .exited(0), "\(sent.stderr)")
            }
            let attributes = try IPCTool.run(["mq", "attr", name])
            #expect(attributes.stdout == "max messages: 4\nmessage size: 128\ncurrent messages: 3\n")

            for expected in ["priority 7: urgent order", "priority 3: normal", "priority 1: low"] {
                let received = try IPCTool.run(["mq", "recv", name])
                #expect(received.status == .exited(0), "\(received.stderr)")
                #expect(received.stdout == expected + "\n")
            }
            let removed = try IPCTool.run(["mq", "rm", name])
            #expect(removed.status == .exited(0), "\(removed.stderr)")
        }
    }

    @Test("failures print the error: exit 2 for an empty or full queue with --nowait or --timeout, 1 for a missing queue, 64 for a bad name or priority")
    func failures() throws {
        try TestObjects.withQueueName { name in
            #expect(try IPCTool.run(["mq", "create", name, "--max-messages", "1", "--message-size", "8"]).status == .exited(0))
            defer { TestObjects.remove(.queue(name)) }

            let nonblocking = try IPCTool.run(["mq", "recv", name, "--nowait"])
            #expect(nonblocking.status == .exited(2))
            #expect(nonblocking.stderr.contains("mq_receive(\"\(name)\"): resource temporarily unavailable (EAGAIN)"), "\(nonblocking.stderr)")

            let start = Deadline.now
            let timedOut = try IPCTool.run(["mq", "recv", name, "--timeout", "0.3"])
            #expect(timedOut.status == .exited(2))
            #expect(timedOut.stderr.contains("(ETIMEDOUT)"), "\(timedOut.stderr)")
            #expect(Deadline.now.nanoseconds - start.nanoseconds >= 300_000_000)

            #expect(try IPCTool.run(["mq", "send", name, "fills it"]).status == .exited(0))
            let full = try IPCTool.run(["mq", "send", name, "no room", "--nonblock"])
            #expect(full.status == .exited(2), "--nonblock is kept as an alias of --nowait")
            #expect(full.stderr.contains("(EAGAIN)"), "\(full.stderr)")
            let fullTimed = try IPCTool.run(["mq", "send", name, "no room", "--timeout", "0.1"])
            #expect(fullTimed.status == .exited(2))
            #expect(fullTimed.stderr.contains("(ETIMEDOUT): the queue stayed full until the deadline"), "\(fullTimed.stderr)")

            let tooLong = try IPCTool.run(["mq", "send", name, "nine bytes"])
            #expect(tooLong.status == .exited(1))
            #expect(tooLong.stderr.contains("(EMSGSIZE)"), "\(tooLong.stderr)")

            let priority = try IPCTool.run(["mq", "send", name, "x", "--priority", "40000"])
            #expect(priority.status == .exited(64))
            #expect(priority.stderr.contains("give 0 to \(PosixMessageQueue.priorityLimit - 1) (below MQ_PRIO_MAX)"), "\(priority.stderr)")

            let exists = try IPCTool.run(["mq", "create", name])
            #expect(exists.status == .exited(1))
            #expect(exists.stderr.contains("mq_open(\"\(name)\"): file exists (EEXIST)"), "\(exists.stderr)")
        }
        let missingName = TestObjects.posixName("mq-test-missing")
        let missing = try IPCTool.run(["mq", "recv", missingName])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("mq_open(\"\(missingName)\"): no such file or directory (ENOENT)"), "\(missing.stderr)")
        let removeMissing = try IPCTool.run(["mq", "rm", missingName])
        #expect(removeMissing.stderr.contains("(ENOENT)"), "\(removeMissing.stderr)")

        let badName = try IPCTool.run(["mq", "create", "orders"])
        #expect(badName.status == .exited(64), "a malformed name is a usage error")
        #expect(badName.stderr.contains("a queue name starts with a slash"), "\(badName.stderr)")

        let badMode = try IPCTool.run(["mq", "create", "/x", "--mode", "999"])
        #expect(badMode.status != .exited(0))
        #expect(badMode.status == .exited(64) && badMode.stderr.contains("give 0 to 777"), "\(badMode.stderr)")
    }

    @Test("watch prints messages as they arrive until interrupted", .timeLimit(.minutes(1)))
    func watch() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .writeOnly, maxMessages: 4, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }
            let output = try Pipe()
            var spawn = Spawn(IPCTool.path, arguments: ["mq", "watch", name])
            try spawn.inherit(output.writer.descriptor, as: 1)
            var watcher = try spawn.start()
            try output.writer.close()
            defer { if watcher.terminationStatus == nil { try? watcher.signal(SIGKILL); _ = try? watcher.wait() } }

            var received = ""
            for (text, priority) in [("one", UInt32(2)), ("two", 5)] {
                try queue.send(Array(text.utf8), priority: priority)
                // Each line is printed as its message arrives (not at exit).
                while !received.hasSuffix("priority \(priority): \(text)\n") {
                    let bytes = try output.reader.read(upTo: 256)
                    if bytes.isEmpty { break }
                    received += String(decoding: bytes, as: UTF8.self)
                }
            }
            #expect(received == "priority 2: one\npriority 5: two\n")
            try watcher.signal(SIGINT)
            #expect(try watcher.wait() == .signalled(SIGINT, coreDumped: false))
        }
    }

    @Test("watch --count stops after that many messages")
    func watchCount() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 4, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }
            try queue.send(Array("a".utf8), priority: 1)
            try queue.send(Array("b".utf8), priority: 9)
            try queue.send(Array("c".utf8), priority: 1)
            let run = try IPCTool.run(["mq", "watch", name, "--count", "2"], timeout: .seconds(60))
            #expect(run.status == .exited(0), "\(run.stderr)")
            #expect(run.stdout == "priority 9: b\npriority 1: a\n")
            #expect(try queue.attributes.currentMessages == 1)
        }
    }
}
