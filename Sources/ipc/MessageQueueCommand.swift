import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `ipc mq`: create, use, inspect and remove POSIX message queues (SPEC M1, M2).
///
/// ```
/// ipc mq create /orders --max-messages 10 --message-size 256 --mode 600
/// ipc mq send /orders 'ship 3 crates' --priority 7
/// ipc mq recv /orders              # priority 7: ship 3 crates
/// ipc mq attr /orders
/// ipc mq watch /orders             # prints messages as they arrive, until interrupted
/// ipc mq rm /orders
/// ```
/// Failures print the library's error (`mq_open("/orders"): no such file or
/// directory (ENOENT)`) and exit with a status of `ExitStatus`: 1, or 2 when
/// `--timeout` passed or `--nowait` would have waited.
struct MessageQueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mq",
        abstract: "POSIX message queues.",
        discussion: "Names look like /orders.\n\n" + ExitStatus.table,
        subcommands: [Create.self, Send.self, Receive.self, Attributes.self, Remove.self, Watch.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a queue (fails if it exists).",
            discussion: "Without CAP_SYS_RESOURCE the sizes are limited by fs.mqueue.msg_max and fs.mqueue.msgsize_max (see `ipc limits`).")

        @Argument(help: "The queue's name: a slash and up to 255 characters, e.g. /orders.", transform: NameArgument.parser(for: .messageQueue))
        var name: NameArgument

        @Option(parsing: .unconditional, help: "Capacity in messages, \(IntegerRange.queueCapacity) (default: fs.mqueue.msg_default).",
                transform: IntegerRange.queueCapacity.parse)
        var maxMessages: Int?

        @Option(parsing: .unconditional, help: "Largest message in bytes, \(IntegerRange.queueMessageSize) (default: fs.mqueue.msgsize_default).",
                transform: IntegerRange.queueMessageSize.parse)
        var messageSize: Int?

        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("the umask applies"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite

        func run() throws {
            let queue = try PosixMessageQueue.create(name.exact, permissions: mode.permissions, maxMessages: maxMessages, messageSize: messageSize)
            let created = "created \(name): \(queue.maxMessages) messages of at most \(byteCount(queue.messageSize))"
            try printCreated(created, created: created)
            try queue.close()
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send one message (the text argument, or all of stdin).")

        @Argument(help: "The queue's name.", transform: NameArgument.parser(for: .messageQueue))
        var name: NameArgument

        @Argument(help: "The message text; read from stdin when omitted (at most the queue's message size).")
        var message: String?

        @Option(parsing: .unconditional, help: "The message's priority, \(IntegerRange.queuePriority); higher is received first (default 0).",
                transform: IntegerRange.queuePriority.parse)
        var priority: UInt32 = 0

        @OptionGroup var waiting: WaitOptions

        func run() throws {
            let queue = try PosixMessageQueue.open(name.exact, access: .writeOnly, nonBlocking: waiting.nowait)
            let bytes = try message.map { RawArguments.claim($0) }  // its exact bytes, even invalid UTF-8
                ?? readStandardInput(atMost: queue.messageSize, limit: "a message of \(name) has at most \(byteCount(queue.messageSize)) (mq_msgsize)")
            try queue.send(bytes, priority: priority, until: waiting.deadline() ?? .distantFuture)
            try queue.close()
        }
    }

    struct Receive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recv",
            abstract: "Receive the oldest message of the highest priority and print it with its priority.",
            discussion: """
                Prints 'priority N: TEXT' and a newline, or with --raw the message's bytes exactly. \
                When stdout cannot take it (a full disk, a closed pipe), the message is put back \
                (at the end of its priority) and the command fails.
                """)

        @Argument(help: "The queue's name.", transform: NameArgument.parser(for: .messageQueue))
        var name: NameArgument

        @Flag(help: "Print only the message's bytes, exactly: no 'priority N: ' prefix, no newline added.")
        var raw = false

        @OptionGroup var waiting: WaitOptions

        func run() throws {
            let queue = try PosixMessageQueue.open(name.exact, access: .readOnly, nonBlocking: waiting.nowait)
            let message = try queue.receive(until: waiting.deadline() ?? .distantFuture)
            try deliver(message, from: name.exact, raw: raw)
            try queue.close()
        }
    }

    struct Attributes: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "attr", abstract: "Print a queue's attributes.")

        @Argument(help: "The queue's name.", transform: NameArgument.parser(for: .messageQueue))
        var name: NameArgument

        func run() throws {
            let queue = try PosixMessageQueue.open(name.exact, access: .readOnly)
            let attributes = try queue.attributes
            try printResult("""
                max messages: \(attributes.maxMessages)
                message size: \(attributes.messageSize)
                current messages: \(attributes.currentMessages)
                """)
            try queue.close()
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove a queue's name; it is freed when its last user closes it.")

        @Argument(help: "The queue's name.", transform: NameArgument.parser(for: .messageQueue))
        var name: NameArgument

        func run() throws { try PosixMessageQueue.unlink(name.exact) }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print messages as they arrive, until interrupted (they are received, so taken off the queue).")

        @Argument(help: "The queue's name.", transform: NameArgument.parser(for: .messageQueue))
        var name: NameArgument

        @Option(parsing: .unconditional, help: "Stop after this many messages (\(IntegerRange.times)).", transform: IntegerRange.times.parse)
        var count: Int?

        func run() async throws {
            let queue = try PosixMessageQueue.open(name.exact, access: .readOnly)
            var received = 0
            for try await message in try queue.messages() {
                try deliver(message, from: name.exact, raw: false)  // unbuffered: a watching program sees each line now
                received += 1
                if let count, received >= count { break }
            }
        }
    }
}

/// Writes a received message to stdout — `priority 7: ship 3 crates` and a newline,
/// or with `raw` its bytes exactly — or puts it back on `name` when that fails.
/// The text is its bytes as they are, as `msg recv` writes them (not repaired to UTF-8).
private func deliver(_ message: PosixMessageQueue.Message, from name: PosixIPCName, raw: Bool) throws {
    let output = raw ? message.bytes : Array("priority \(message.priority): ".utf8) + message.bytes + [UInt8(ascii: "\n")]
    try deliverReceivedMessage(output, takenFrom: name.description, putBackAt: "at the end of its priority") { () throws(IPCError) in
        try PosixMessageQueue.open(name, access: .writeOnly).trySend(message.bytes, priority: message.priority)
    }
}
