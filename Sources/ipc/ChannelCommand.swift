import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc channel create|send|recv|stat|rm`: shared-memory channels (SPEC M5,
/// `SharedMemoryChannel`).
///
/// ```
/// ipc channel create /orders --capacity 65536 --max-message 1024 --producers 4
/// ipc channel send /orders 'ship 3 crates' 'ship 2 crates'
/// ipc channel recv /orders --count 2
/// ipc channel stat /orders
/// ipc channel rm /orders
/// ```
/// `send` attaches as a producer and `recv` as the receiver for as long as they
/// run. Failures print the library's error and exit with a status of
/// `ExitStatus`: 1, or 2 when `--timeout` passed or `--nowait` would have waited.
struct ChannelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel",
        abstract: "Shared-memory channels (SharedMemoryChannel).",
        discussion: "Names look like /orders; a channel is a POSIX shared memory object that `ipc ls` lists as pshm.\n\n" + ExitStatus.table,
        subcommands: [Create.self, Send.self, Receive.self, Stat.self, Remove.self])

    static let capacityRange = IntegerRange(64...(1 << 30), source: "a power of two")
    static let producerRange = IntegerRange(1...64)

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a channel (fails if the name exists).")

        @Argument(help: "The channel's name: a slash and up to 255 characters, e.g. /orders.", transform: NameArgument.parser(for: .sharedMemory))
        var name: NameArgument

        @Option(parsing: .unconditional, help: "Bytes of each producer's ring, \(ChannelCommand.capacityRange).",
                transform: ChannelCommand.capacityRange.parse)
        var capacity: Int

        @Option(name: .customLong("max-message"), parsing: .unconditional,
                help: "The largest message in bytes: 1 to capacity / 2 - 8.", transform: IntegerRange.times.parse)
        var maximumMessageSize: Int

        @Option(parsing: .unconditional, help: "How many producers may be attached at once, \(ChannelCommand.producerRange) (default 1).",
                transform: ChannelCommand.producerRange.parse)
        var producers = 1

        @Option(name: .customLong("when-full"), parsing: .unconditional,
                help: "What a sender does when its ring is full: block (wait), fail or drop (default block).",
                transform: ChannelCommand.parsePolicy)
        var whenFull = SharedMemoryChannel.FullPolicy.block

        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("the umask applies"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite

        func run() throws {
            let channel = try SharedMemoryChannel.create(name.exact, capacity: capacity, maximumMessageSize: maximumMessageSize,
                                                         producers: producers, whenFull: whenFull, permissions: mode.permissions)
            let rings = channel.producers == 1 ? "a ring" : "\(channel.producers) rings"
            let created = "created \(name): \(rings) of \(byteCount(channel.capacity)), messages of at most \(byteCount(channel.maximumMessageSize)), when full: \(channel.whenFull)"
            try printCreated(created, created: created)
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send messages (each text argument, or all of stdin as one), as a producer of the channel.")

        @Argument(help: "The channel's name.", transform: NameArgument.parser(for: .sharedMemory))
        var name: NameArgument

        @Argument(help: "The messages' texts; one message read from stdin when none is given (at most the channel's maximum).")
        var messages: [String] = []

        @OptionGroup var waiting: WaitOptions

        func run() throws {
            var sender = try SharedMemoryChannel.open(name.exact).sender()
            let maximum = sender.maximumMessageSize
            let all = messages.isEmpty
                ? [try readStandardInput(atMost: maximum, limit: "a message of \(name) has at most \(byteCount(maximum))")]
                : messages.map { RawArguments.claim($0) }  // their exact bytes, even invalid UTF-8
            for message in all {
                if waiting.nowait {
                    if try !sender.trySend(message) {
                        throw IPCError(.resourceTemporarilyUnavailable, operation: "SharedMemoryChannel.trySend", object: name.description,
                                       detail: "the producer's ring is full")
                    }
                } else {
                    try sender.send(message, until: waiting.deadline() ?? .distantFuture)
                }
            }
        }
    }

    struct Receive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recv",
            abstract: "Receive messages and print each on a line, as the channel's receiver.",
            discussion: """
                Prints each message's text and a newline, or with --raw its bytes exactly. \
                A message is released only once it is written: when stdout cannot take it \
                (a full disk, a closed pipe), it stays in the channel for the next receiver \
                and the command fails.
                """)

        @Argument(help: "The channel's name.", transform: NameArgument.parser(for: .sharedMemory))
        var name: NameArgument

        @Option(parsing: .unconditional, help: "How many messages to receive, \(IntegerRange.times) (default 1).", transform: IntegerRange.times.parse)
        var count = 1

        @Flag(help: "Print only the messages' bytes, exactly: no newline added.")
        var raw = false

        @OptionGroup var waiting: WaitOptions

        func run() throws {
            var receiver = try SharedMemoryChannel.open(name.exact).receiver()
            signal(SIGPIPE, SIG_IGN)  // a closed pipe is an error to report, the message kept
            let deadline: Deadline? = waiting.nowait ? nil : waiting.deadline() ?? .distantFuture
            for _ in 0..<count {
                let written = try receiver.receiveKeepingOnFailure(until: deadline) { span in
                    try span.withUnsafeBytes { bytes throws(IPCError) in
                        try writeStandardOutput(raw ? Array(bytes) : Array(bytes) + [UInt8(ascii: "\n")])
                    }
                }
                if written == nil {
                    throw IPCError(.resourceTemporarilyUnavailable, operation: "SharedMemoryChannel.tryReceive", object: name.description,
                                   detail: "the channel is empty")
                }
            }
        }
    }

    struct Stat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a channel's geometry, ends and fill level.")

        @Argument(help: "The channel's name.", transform: NameArgument.parser(for: .sharedMemory))
        var name: NameArgument

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let status = try SharedMemoryChannel.open(name.exact).status
            if json { return try printResult(ChannelCommand.json(status).rendered()) }
            var lines = [
                "capacity: \(byteCount(status.capacity))\(status.producers.count == 1 ? "" : " per producer")",
                "maximum message size: \(byteCount(status.maximumMessageSize))",
                "when full: \(status.whenFull)",
                "receiver: \(status.receiver)",
            ]
            for producer in status.producers {
                lines.append("producer \(producer.index): \(producer.end), \(byteCount(producer.queuedBytes)) queued, \(producer.dropped) dropped")
            }
            let tenths = Int((status.fillLevel * 1000).rounded())
            lines.append("fill: \(tenths / 10).\(tenths % 10)%")
            try printResult(lines.joined(separator: "\n"))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove channels' names; each is freed when its last user unmaps it.")

        @Argument(help: "The channels' names.", transform: NameArgument.parser(for: .sharedMemory))
        var names: [NameArgument]

        func run() throws {
            for name in names {
                // Only a channel: anything else placed there is refused (EPROTOTYPE) and stays.
                _ = try SharedMemoryChannel.open(name.exact, timeout: .zero)
                try SharedMemoryChannel.unlink(name.exact)
            }
        }
    }

    @Sendable static func parsePolicy(_ text: String) throws -> SharedMemoryChannel.FullPolicy {
        guard let policy = SharedMemoryChannel.FullPolicy(named: text) else {
            throw ValidationError("'\(text)' is no policy: give block, fail or drop")
        }
        return policy
    }

    /// `ipc channel stat --json`: the same object `ipc ls --json` gives as "channel".
    static func json(_ status: SharedMemoryChannel.Status) -> JSONValue {
        ListJSON.channel(status)
    }
}
