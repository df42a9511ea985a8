import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `ipc door serve|call|info`: doors (SPEC R1–R6, `Door`, `DoorClient`).
///
/// ```
/// ipc door serve /tmp/echo.door --echo &
/// ipc door call /tmp/echo.door --data ping --fd /etc/hostname
/// ipc door serve /tmp/upper.door --exec 'tr a-z A-Z' &
/// echo hello | ipc door call /tmp/upper.door
/// ipc door info /tmp/upper.door --json
/// ```
struct DoorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "door",
        abstract: "Doors: call a procedure in a server process (Door, DoorClient).",
        discussion: "A door is attached to a path (a seqpacket socket file, 0600 by default); `ipc ls --kind door` lists the doors being served.\n\n"
            + ExitStatus.table,
        subcommands: [Serve.self, Call.self, Info.self, Stop.self])

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a door at PATH until SIGTERM or SIGINT: echo each call, or run a command for it.",
            discussion: """
                --echo returns each call's arguments and descriptors as they came. --exec runs \
                COMMAND with /bin/sh -c for each call, the arguments on its stdin: its stdout is \
                the result; when it exits with another status than 0 the call fails (EREMOTEIO) \
                with its stderr's text. Prints `serving PATH (pid N)` once the door can be called; \
                on SIGTERM or SIGINT closes the door (calls running finish first), removes PATH \
                and exits 0.

                --daemon runs the server as a daemon (a new program in a new session, cwd /, \
                descriptors closed, 0-2 on /dev/null): it takes a pid file in the runtime \
                directory (/run for root, $XDG_RUNTIME_DIR otherwise, or --pid-directory) so a \
                second server of PATH is refused naming the first one's pid, logs to syslog \
                (--syslog SOCKET, default /dev/log; identity ipc-door, facility daemon), \
                reloads on SIGHUP and stops on SIGTERM (`ipc door stop PATH`). The command \
                prints `serving PATH (pid N) as a daemon` once the daemon serves, or exits \
                non-zero with the daemon's start-up error. PATH and the directories must be \
                absolute.
                """)

        @Argument(help: "The door's path (a socket file is created there).")
        var path: String

        @Flag(help: "Return the arguments and descriptors.")
        var echo = false

        @Option(name: .customLong("exec"), parsing: .unconditional, help: ArgumentHelp("Run this /bin/sh command for each call.", valueName: "command"))
        var command: String?

        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("the umask does not apply"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite

        @Option(help: "The procedure's name in `door info` and `ipc ls` (default echo or exec).")
        var name: String?

        @Flag(name: .customLong("replace-stale"), help: "Replace a socket file at PATH that no server listens on.")
        var replaceStale = false

        @Flag(help: "Run the server as a daemon (pid file, syslog, SIGHUP reload, SIGTERM stop).")
        var daemon = false

        @Option(name: .customLong("pid-directory"), help: ArgumentHelp("With --daemon: where the pid file goes.", valueName: "directory"))
        var pidDirectory: String?

        @Option(help: ArgumentHelp("With --daemon: the syslog socket (default /dev/log).", valueName: "socket"))
        var syslog = "/dev/log"

        func validate() throws {
            if echo == (command != nil) { throw ValidationError("give either --echo or --exec COMMAND") }
            if daemon, !([path, syslog] + (pidDirectory.map { [$0] } ?? [])).allSatisfy({ $0.hasPrefix("/") }) {
                throw ValidationError("with --daemon, PATH, --pid-directory and --syslog must be absolute (a daemon works in /)")
            }
        }

        /// The door, not yet attached.
        private func makeDoor() throws(IPCError) -> Door {
            if let command {
                return try Door(name: name ?? "exec") { call in try call.reply(try DoorCommand.runShell(command, input: call.argumentBytes)) }
            }
            return try Door(name: name ?? "echo") { call in
                let bytes = call.argumentBytes
                try call.reply(bytes, descriptors: call.descriptors.takeAll())
            }
        }

        func run() throws {
            if daemon {
                if !DaemonStartup.current.isDaemon {
                    let pid = try DoorService.launch(Array(CommandLine.arguments.dropFirst()))
                    try printResult("serving \(path) (pid \(pid)) as a daemon")
                    return
                }
                DoorService.run(path: path, pidDirectory: pidDirectory.map { FilePath($0) }, syslog: .local(FilePath(syslog))) { () throws(IPCError) in
                    let door = try makeDoor()
                    try door.attach(to: FilePath(path), mode: mode.permissions, replacingStaleSocket: replaceStale)
                    return door
                }
            }
            // Before the door's threads start, so they inherit the signals blocked.
            let signals = try SignalStream([SIGTERM, SIGINT])
            let door = try makeDoor()
            try door.attach(to: FilePath(path), mode: mode.permissions, replacingStaleSocket: replaceStale)
            try printResult("serving \(path) (pid \(getpid()))")
            _ = try signals.receive()
            door.close()
        }
    }

    struct Call: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call the door at PATH with --data or stdin (and --fd files); write the result to stdout.",
            discussion: """
                The result's bytes go to stdout exactly. Each descriptor the door returns is named \
                on stderr: `descriptor 5: /etc/hostname` (what /proc/self/fd/5 links to). A \
                procedure that failed exits 1 with its error; --timeout passed exits 2.
                """)

        @Argument(help: "The door's path.")
        var path: String

        @Option(parsing: .unconditional, help: "The arguments' text (default: all of stdin).")
        var data: String?

        @Option(name: .customLong("fd"), parsing: .unconditionalSingleValue, help: ArgumentHelp("A file to open (read-only) and pass with the call; repeatable.", valueName: "file"))
        var files: [String] = []

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Wait at most this many seconds (e.g. 0.5), then exit with status 2.", valueName: "seconds"),
                transform: WaitOptions.parseTimeout)
        var timeout: Double?

        func run() throws {
            let deadline = timeout.map { Deadline.after(.nanoseconds(Int64($0 * 1e9))) } ?? .distantFuture
            var descriptors = OwnedDescriptors()
            for file in files {
                do {
                    descriptors.append(OwnedDescriptor(adopting: try FileDescriptor.open(file, .readOnly, options: .closeOnExec)))
                } catch {
                    throw IPCError((error as? Errno) ?? .ioError, operation: "open", object: file)
                }
            }
            var client = try DoorClient(path: FilePath(path), timeout: timeout == nil ? .seconds(5) : deadline.remaining)
            let maximum = client.info.maximumMessageSize
            let arguments = try data.map { RawArguments.claim($0) }
                ?? readStandardInput(atMost: maximum, limit: "a call to \(path) carries at most \(byteCount(maximum))")
            var result = try client.call(arguments, descriptors: descriptors, until: deadline)
            try writeStandardOutput(result.bytes)
            for index in 0..<result.descriptors.count {
                let line = result.descriptors.withDescriptor(at: index) { descriptor in
                    "descriptor \(descriptor.rawValue): \(DoorCommand.linkText(descriptor.rawValue))\n"
                } ?? ""
                var bytes = Array(line.utf8)
                _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            }
            _ = result.descriptors.takeAll()
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what the door at PATH says about itself (door_info).",
            discussion: """
                Lines `pid: 4242`, `procedure: echo`, `id: 1`, `cookie: 0`, `path: /tmp/echo.door`, \
                `revoked: no`, `attributes: none` (unref, restricted), `maximum message: 65536 bytes`, \
                `clients: 1 of at most 256`, `calls: 12`. --json prints one object with the same \
                fields: {"pid":4242,"procedure":"echo","id":1,"cookie":0,"path":"/tmp/echo.door",\
                "revoked":false,"attributes":[],"maximumMessageSize":65536,"clients":1,\
                "maximumClients":256,"calls":12}.
                """)

        @Argument(help: "The door's path.")
        var path: String

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let info = try Door.info(at: FilePath(path))
            if json { return try printResult(DoorCommand.json(info).rendered()) }
            let attributes = DoorCommand.attributes(info)
            try printResult([
                "pid: \(info.serverPid)",
                "procedure: \(EscapedText.render(info.procedure.utf8))",
                "id: \(info.identifier)",
                "cookie: \(info.cookie)",
                "path: \(info.path.map { EscapedText.render($0.utf8) } ?? "-")",
                "revoked: \(info.isRevoked ? "yes" : "no")",
                "attributes: \(attributes.isEmpty ? "none" : attributes.joined(separator: ","))",
                "maximum message: \(byteCount(info.maximumMessageSize))",
                "clients: \(info.clients) of at most \(info.maximumClients)",
                "calls: \(info.callsServed)",
            ].joined(separator: "\n"))
        }
    }

    static func attributes(_ info: DoorInfo) -> [String] {
        (info.notifiesUnreferenced ? ["unref"] : []) + (info.isRestricted ? ["restricted"] : [])
    }

    static func json(_ info: DoorInfo) -> JSONValue {
        .object([
            ("pid", .integer(Int64(info.serverPid))),
            ("procedure", .string(info.procedure)),
            ("id", .unsigned(info.identifier)),
            ("cookie", .unsigned(info.cookie)),
            ("path", info.path.map { .string($0) } ?? .null),
            ("revoked", .bool(info.isRevoked)),
            ("attributes", .array(attributes(info).map { .string($0) })),
            ("maximumMessageSize", .integer(Int64(info.maximumMessageSize))),
            ("clients", .integer(Int64(info.clients))),
            ("maximumClients", .integer(Int64(info.maximumClients))),
            ("calls", .unsigned(info.callsServed)),
        ])
    }

    /// What /proc/self/fd/N links to, escaped as `ipc ls` shows paths.
    static func linkText(_ number: CInt) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(number)", &buffer, buffer.count - 1)
        guard count >= 0 else { return "?" }
        return EscapedText.render(buffer[0..<count].map { UInt8(bitPattern: $0) })
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the server of the door at PATH: SIGTERM, then wait until it has ended.",
            discussion: "The server's pid comes from the door itself (door_info). Prints `stopped PID`; exits 2 when it has not ended in --timeout seconds (default 30).")

        @Argument(help: "The door's path.")
        var path: String

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Wait at most this many seconds (default 30), then exit with status 2.", valueName: "seconds"),
                transform: WaitOptions.parseTimeout)
        var timeout: Double?

        func run() throws {
            let pid = try DoorService.stop(FilePath(path), timeout: .milliseconds(Int64((timeout ?? 30) * 1000)))
            try printResult("stopped \(pid)")
        }
    }
}
