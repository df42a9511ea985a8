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
/// directory (ENOENT)`) and exit with status 1.
struct MessageQueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mq",
        abstract: "POSIX message queues (SPEC M1, M2).",
        subcommands: [Create.self, Send.self, Receive.self, Attributes.self, Remove.self, Watch.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a queue (fails if it exists).",
            discussion: "Without CAP_SYS_RESOURCE the sizes are limited by fs.mqueue.msg_max and fs.mqueue.msgsize_max (see `ipc limits`).")

        @Argument(help: "The queue's name: a slash and up to 255 characters, e.g. /orders.")
        var name: String

        @Option(help: "Capacity in messages (default: fs.mqueue.msg_default).")
        var maxMessages: Int?

        @Option(help: "Largest message in bytes (default: fs.mqueue.msgsize_default).")
        var messageSize: Int?

        @Option(help: "Permissions in octal (the umask applies).")
        var mode: String = "600"

        func run() throws {
            let permissions = try parseMode(mode)
            let queue = try PosixMessageQueue.create(name, permissions: permissions, maxMessages: maxMessages, messageSize: messageSize)
            let created = "created \(name): \(queue.maxMessages) messages of at most \(queue.messageSize) bytes"
            do throws(IPCError) { try printResult(created) } catch { throw fail("\(created), but \(error)", .failed) }
            try queue.close()
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send one message (the text argument, or all of stdin).")

        @Argument(help: "The queue's name.")
        var name: String

        @Argument(help: "The message text; read from stdin when omitted (at most the queue's message size).")
        var message: String?

        @Option(help: "The message's priority (0 ..< MQ_PRIO_MAX); higher is received first.")
        var priority: UInt32 = 0

        @OptionGroup var waiting: Waiting

        func run() throws {
            let queue = try PosixMessageQueue.open(name, access: .writeOnly, nonBlocking: waiting.nonblock)
            let bytes = try message.map { Array($0.utf8) }
                ?? readStandardInput(atMost: queue.messageSize, limit: "a message of \(name) has at most \(queue.messageSize) bytes (mq_msgsize)")
            try queue.send(bytes, priority: priority, until: try waiting.deadline())
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

        @Argument(help: "The queue's name.")
        var name: String

        @Flag(help: "Print only the message's bytes, exactly: no 'priority N: ' prefix, no newline added.")
        var raw = false

        @OptionGroup var waiting: Waiting

        func run() throws {
            let queue = try PosixMessageQueue.open(name, access: .readOnly, nonBlocking: waiting.nonblock)
            let message = try queue.receive(until: try waiting.deadline())
            try deliver(message, from: name, raw: raw)
            try queue.close()
        }
    }

    struct Attributes: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "attr", abstract: "Print a queue's attributes.")

        @Argument(help: "The queue's name.")
        var name: String

        func run() throws {
            let queue = try PosixMessageQueue.open(name, access: .readOnly)
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

        @Argument(help: "The queue's name.")
        var name: String

        func run() throws { try PosixMessageQueue.unlink(name) }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print messages as they arrive, until interrupted (they are received, so taken off the queue).")

        @Argument(help: "The queue's name.")
        var name: String

        @Option(help: "Stop after this many messages.")
        var count: Int?

        func validate() throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        }

        func run() async throws {
            let queue = try PosixMessageQueue.open(name, access: .readOnly)
            var received = 0
            for try await message in try queue.messages() {
                try deliver(message, from: name, raw: false)  // unbuffered: a watching program sees each line now
                received += 1
                if let count, received >= count { break }
            }
        }
    }

    /// `--timeout` and `--nonblock`, shared by send and recv.
    struct Waiting: ParsableArguments {
        @Option(help: ArgumentHelp("Wait at most this many seconds (e.g. 0.5), then fail with ETIMEDOUT.", valueName: "seconds"))
        var timeout: Double?

        @Flag(help: "Do not wait: fail with EAGAIN when the queue is full (send) or empty (recv).")
        var nonblock = false

        func validate() throws {
            if let timeout, !(timeout >= 0 && timeout < 1e9) { throw ValidationError("--timeout takes a number of seconds, e.g. 0.5") }
            if timeout != nil && nonblock { throw ValidationError("--timeout and --nonblock exclude each other") }
        }

        func deadline() throws -> Deadline {
            guard let timeout else { return .distantFuture }
            return .after(.nanoseconds(Int64(timeout * 1e9)))
        }
    }
}

/// Writes a received message to stdout — `priority 7: ship 3 crates` and a newline,
/// or with `raw` its bytes exactly — or puts it back on `name` when that fails.
private func deliver(_ message: PosixMessageQueue.Message, from name: String, raw: Bool) throws {
    let output = raw ? message.bytes : Array("priority \(message.priority): \(String(decoding: message.bytes, as: UTF8.self))\n".utf8)
    try deliverReceivedMessage(output, takenFrom: name, putBackAt: "at the end of its priority") { () throws(IPCError) in
        try PosixMessageQueue.open(name, access: .writeOnly).trySend(message.bytes, priority: message.priority)
    }
}

/// `600`, `0640` → permissions; anything else is a usage error.
private func parseMode(_ text: String) throws -> FilePermissions {
    guard let value = UInt16(text, radix: 8), value <= 0o777 else {
        throw ValidationError("--mode takes octal permissions such as 600 or 0640, not '\(text)'")
    }
    return FilePermissions(rawValue: CInterop.Mode(value))
}
