import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How `ipc mq` and `ipc msg` move message bytes: stdin read no further than a
/// message can hold, exact bytes with `--raw`, and no message lost when stdout cannot
/// take it (issue 8, items 4, 6, 20).
@Suite("ipc mq/msg message delivery")
struct MessageDeliveryCommandTests {
    @Test("mq recv > /dev/full fails and puts the message back, at the end of its priority")
    func posixReceiveToFullDisk() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 4, messageSize: 64)
            defer { TestObjects.remove(.queue(name)) }
            try queue.send(Array("first".utf8), priority: 5)
            try queue.send(Array("second".utf8), priority: 5)
            try queue.send(Array("low".utf8), priority: 1)
            let run = try IPCTool.run(["mq", "recv", name], stdinFile: nil, stdoutFile: "/dev/full")
            #expect(run.status == .exited(1))
            #expect(run.stderr.contains("write(stdout): no space left on device (ENOSPC); the message was put back on \(name) (at the end of its priority)"),
                    "\(run.stderr)")
            #expect(try queue.tryReceive() == .init(bytes: Array("second".utf8), priority: 5))
            #expect(try queue.tryReceive() == .init(bytes: Array("first".utf8), priority: 5), "put back, priority kept")
            #expect(try queue.tryReceive() == .init(bytes: Array("low".utf8), priority: 1))
            try PosixMessageQueue.unlink(name)
        }
    }

    @Test("mq watch > /dev/full stops at the first message and puts it back")
    func posixWatchToFullDisk() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 4, messageSize: 64)
            defer { TestObjects.remove(.queue(name)) }
            try queue.send(Array("kept".utf8), priority: 2)
            let run = try IPCTool.run(["mq", "watch", name, "--count", "1"], stdinFile: nil, stdoutFile: "/dev/full", timeout: .seconds(60))
            #expect(!run.timedOut)
            #expect(run.status == .exited(1))
            #expect(run.stderr.contains("the message was put back on \(name)"), "\(run.stderr)")
            #expect(try queue.tryReceive() == .init(bytes: Array("kept".utf8), priority: 2))
            try PosixMessageQueue.unlink(name)
        }
    }

    @Test("mq send without a text reads the message from stdin; mq recv --raw prints its bytes exactly")
    func posixStandardInputAndRaw() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 4, messageSize: 64)
            defer { TestObjects.remove(.queue(name)) }
            let payload: [UInt8] = Array("binary\u{0}bytes\n".utf8) + [0xFF, 0x80]
            let sent = try IPCTool.run(["mq", "send", name, "--priority", "3"], input: payload)
            #expect(sent.status == .exited(0), "\(sent.stderr)")
            #expect(try queue.attributes.currentMessages == 1)
            let received = try IPCTool.run(["mq", "recv", name, "--raw"], input: [])
            #expect(received.status == .exited(0), "\(received.stderr)")
            #expect(received.stdout == payload, "no prefix, nothing added")
            try PosixMessageQueue.unlink(name)
        }
    }

    @Test("mq send < /dev/zero reads at most the message size plus one byte, then fails; nothing is sent",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func posixEndlessInput() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 4, messageSize: 64)
            defer { TestObjects.remove(.queue(name)) }
            let run = try IPCTool.run(["mq", "send", name], stdinFile: "/dev/zero", addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
            #expect(!run.timedOut)
            #expect(run.status == .exited(1))
            #expect(run.stderr.contains("stdin has more than 64 bytes; a message of \(name) has at most 64 bytes (mq_msgsize)"), "\(run.stderr)")
            #expect(try queue.attributes.currentMessages == 0)
            try PosixMessageQueue.unlink(name)
        }
    }

    @Test("msg recv > /dev/full fails and puts the message back with its type")
    func systemVReceiveToFullDisk() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.send(Array("typed".utf8), type: 7)
        let run = try IPCTool.run(["msg", "recv", "--id", "\(queue.id)"], stdinFile: nil, stdoutFile: "/dev/full")
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("no space left on device (ENOSPC); the message was put back on queue id \(queue.id) (at the end of the queue)"),
                "\(run.stderr)")
        #expect(try queue.tryReceive() == .init(bytes: Array("typed".utf8), type: 7))
    }

    @Test("msg send < /dev/zero reads at most a message plus one byte, then fails; nothing is sent",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func systemVEndlessInput() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let largest = min(SystemVMessageQueue.maximumMessageSize, try queue.status().maximumBytes)
        let run = try IPCTool.run(["msg", "send", "--id", "\(queue.id)"], stdinFile: "/dev/zero",
                                  addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("stdin has more than \(largest) bytes; queue id \(queue.id) takes messages of at most \(largest) bytes"),
                "\(run.stderr)")
        #expect(try queue.status().messageCount == 0)
    }

    @Test("msg send of a message longer than the queue's capacity fails instead of waiting for ever")
    func systemVMessageOverCapacity() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.setMaximumBytes(100)
        let run = try IPCTool.run(["msg", "send", "--id", "\(queue.id)", String(repeating: "x", count: 101)], timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("the message has 101 bytes; queue id \(queue.id) takes messages of at most 100 bytes (its capacity, msg_qbytes)"),
                "\(run.stderr)")
    }

    @Test("msg recv --raw prints the bytes exactly (no newline added); it excludes --show-type")
    func systemVRaw() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.send(Array("no newline".utf8), type: 2)
        let raw = try IPCTool.run(["msg", "recv", "--id", "\(queue.id)", "--raw"], input: [])
        #expect(raw.status == .exited(0), "\(raw.stderr)")
        #expect(raw.stdout == Array("no newline".utf8))
        let both = try IPCTool.run(["msg", "recv", "--id", "\(queue.id)", "--raw", "--show-type"])
        #expect(both.status == .exited(64), "\(both.stderr)")
    }
}
