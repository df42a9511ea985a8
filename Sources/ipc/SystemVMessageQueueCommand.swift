import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `ipc msg`: create, use, inspect and remove System V message queues (SPEC M3).
///
/// ```
/// ipc msg create --key 0x1234 --mode 600        # prints the id
/// ipc msg send --key 0x1234 'ship 3 crates' --type 3
/// echo hello | ipc msg send --id 32768          # the text from stdin, type 1
/// ipc msg recv --key 0x1234 --type -5           # ship 3 crates (the lowest type <= 5)
/// ipc msg stat --id 32768 --json
/// ipc msg rm --key 0x1234
/// ```
/// Exit status as `ExitStatus` says: 0 done, 1 error (the library's error is
/// printed, e.g. `msgget(key 0x00001234): no such file or directory (ENOENT)`),
/// 2 timed out (`--timeout`) or would block (`--nowait`), 64 usage error.
struct SystemVMessageQueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "msg",
        abstract: "System V message queues.",
        discussion: "Name a queue with --key (decimal, 0x hex or 'private'), --id, or --path with --proj (ftok).\n\n"
            + ExitStatus.table,
        subcommands: [Create.self, Send.self, Receive.self, Status.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a queue (fails if the key is taken) and print its id.",
            discussion: "--key private always makes a new queue; tell others its id.")

        @OptionGroup var address: SystemVAddress
        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("no umask applies"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite
        @Option(parsing: .unconditional, help: "The queue's capacity in bytes (msg_qbytes), \(IntegerRange.messageQueueBytes).",
                transform: IntegerRange.messageQueueBytes.parse)
        var maxBytes: Int?

        func validate() throws { try address.validateForCreating() }

        func run() throws {
            let queue = try SystemVMessageQueue.create(key: address.keyForCreating(), permissions: mode.permissions)
            if let maxBytes {
                do { try queue.setMaximumBytes(maxBytes) } catch {
                    try? queue.remove()
                    throw error
                }
            }
            try printCreated("\(queue.id)", created: "created queue id \(queue.id)")
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send one message (the text argument, or all of stdin).")

        @OptionGroup var address: SystemVAddress
        @Argument(help: "The message text; read from stdin when omitted.") var text: String?
        @Option(parsing: .unconditional, help: "The message type, \(IntegerRange.messageType) (default 1).",
                transform: IntegerRange.messageType.parse)
        var type = 1
        @OptionGroup var waiting: WaitOptions

        func run() throws {
            let queue = try SystemVMessageQueue(id: address.identifier(of: .messageQueue))
            let (largest, limit) = try Self.largestMessage(of: queue)
            let bytes = try text.map { RawArguments.claim($0) }  // its exact bytes, even invalid UTF-8
                ?? readStandardInput(atMost: largest, limit: "queue id \(queue.id) takes messages of at most \(byteCount(largest)) (\(limit))")
            if bytes.count > largest {
                throw fail("the message has \(byteCount(bytes.count)); queue id \(queue.id) takes messages of at most \(byteCount(largest)) (\(limit))", .failed)
            }
            if waiting.nowait {
                if try !queue.trySend(bytes, type: type) { throw fail("queue id \(queue.id) is full: would block", .notNow) }
            } else if let deadline = waiting.deadline() {
                let error = timedOut { () throws(IPCError) in try queue.send(bytes, type: type, until: deadline) }
                if let error { throw error }
            } else {
                try queue.send(bytes, type: type)
            }
        }

        /// The longest message the queue can ever take, and the limit that says so:
        /// `kernel.msgmax`, or the queue's capacity (`msg_qbytes`, when this user may
        /// read it) when that is smaller — a longer message would wait for room for ever.
        static func largestMessage(of queue: SystemVMessageQueue) throws -> (Int, String) {
            let maximum = SystemVMessageQueue.maximumMessageSize
            do {
                let capacity = try queue.status().maximumBytes
                if capacity < maximum { return (capacity, "its capacity, msg_qbytes") }
            } catch where error.errno == .permissionDenied {}
            return (maximum, "kernel.msgmax")
        }
    }

    struct Receive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recv",
            abstract: "Receive one message and print its text.",
            discussion: "--type 0 takes the first message, N > 0 the first of type N, -N the first of the lowest type up to N. "
                + "The text is written as it is, followed by a newline unless it ends with one (with --raw, nothing is added). "
                + "When stdout cannot take it (a full disk, a closed pipe), the message is put back (at the end of the queue) and the command fails.")

        @OptionGroup var address: SystemVAddress
        @Option(parsing: .unconditional, help: "Which message: 0 the first, N the first of type N, -N the first of the lowest type <= N (default 0).",
                transform: IntegerRange.messageSelector.parse)
        var type = 0
        @Option(parsing: .unconditional, help: "The longest text to accept, \(IntegerRange.bytes) (default: kernel.msgmax).",
                transform: IntegerRange.bytes.parse)
        var maxSize: Int?
        @Flag(help: "Cut a longer message to --max-size (MSG_NOERROR) instead of failing with E2BIG.") var truncate = false
        @Flag(help: "Print 'type N: ' before the text.") var showType = false
        @Flag(help: "Print only the message's bytes, exactly: no newline added (not with --show-type).") var raw = false
        @OptionGroup var waiting: WaitOptions

        func validate() throws {
            if raw && showType { throw ValidationError("--raw prints the message's bytes only: it excludes --show-type") }
        }

        func run() throws {
            let queue = try SystemVMessageQueue(id: address.identifier(of: .messageQueue))
            var message: SystemVMessageQueue.Message?
            if waiting.nowait {
                message = try queue.tryReceive(type: type, maximumSize: maxSize, truncating: truncate)
                if message == nil { throw fail("no message of type \(type) in queue id \(queue.id): would block", .notNow) }
            } else if let deadline = waiting.deadline() {
                let error = timedOut { () throws(IPCError) in
                    message = try queue.receive(type: type, maximumSize: maxSize, truncating: truncate, until: deadline)
                }
                if let error { throw error }
            } else {
                message = try queue.receive(type: type, maximumSize: maxSize, truncating: truncate)
            }
            guard let message else { return }
            var output = showType ? Array("type \(message.type): ".utf8) : []
            output += message.bytes
            if !raw, output.last != UInt8(ascii: "\n") { output.append(UInt8(ascii: "\n")) }
            try deliverReceivedMessage(output, takenFrom: "queue id \(queue.id)", putBackAt: "at the end of the queue") { () throws(IPCError) in
                try queue.trySend(message.bytes, type: message.type)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stat", abstract: "Print a queue's status (msgctl IPC_STAT).")

        @OptionGroup var address: SystemVAddress
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let queue = try SystemVMessageQueue(id: address.identifier(of: .messageQueue))
            let status = try queue.status()
            let permissions = status.permissions
            let mode = "0" + String(permissions.mode.rawValue, radix: 8)
            func optional(_ value: Int32?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
            func optional(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
            let fields: [(String, JSONValue)] = [
                ("id", .integer(Int64(queue.id))), ("key", .string(permissions.key.description)), ("mode", .string(mode)),
                ("uid", .unsigned(UInt64(permissions.uid))), ("gid", .unsigned(UInt64(permissions.gid))),
                ("cuid", .unsigned(UInt64(permissions.creatorUID))), ("cgid", .unsigned(UInt64(permissions.creatorGID))),
                ("messages", .integer(Int64(status.messageCount))), ("bytes", .integer(Int64(status.byteCount))),
                ("max_bytes", .integer(Int64(status.maximumBytes))),
                ("last_sender_pid", optional(status.lastSenderPID)), ("last_receiver_pid", optional(status.lastReceiverPID)),
                ("last_send_time", optional(status.lastSendTime)), ("last_receive_time", optional(status.lastReceiveTime)),
                ("change_time", .integer(Int64(status.changeTime))),
            ]
            if json {
                try printResult(JSONValue.object(fields).rendered())
            } else {
                try printResult(fields.map { name, value in "\(name.replacingUnderscores): \(value.plainText)" }.joined(separator: "\n"))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a queue now (IPC_RMID); blocked senders and receivers get EIDRM.")

        @OptionGroup var address: SystemVAddress

        func run() throws {
            try SystemVKind.messageQueue.remove(id: address.identifier(of: .messageQueue))
        }
    }
}

/// Runs a time-bounded call: nil when it succeeded, the exit with status 2 when it
/// timed out, its error otherwise.
private func timedOut(_ body: () throws(IPCError) -> Void) -> Error? {
    do {
        try body()
        return nil
    } catch {
        return error.isTimeout ? fail("\(error)", .notNow) : error
    }
}

private extension String {
    /// `last_sender_pid` → `last sender pid`.
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}

private extension JSONValue {
    /// The value as the plain-text listing shows it.
    var plainText: String {
        switch self {
        case .null: "-"
        case .integer(let value): String(value)
        case .unsigned(let value): String(value)
        case .string(let value): value
        default: rendered()
        }
    }
}
