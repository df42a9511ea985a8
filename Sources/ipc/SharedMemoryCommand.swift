import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc shm create|write|read|stat|rm`: POSIX shared memory objects (SPEC H3), and
/// System V segments with `--sysv` (SPEC H4, in `SystemVSharedMemoryCommand.swift`).
struct SharedMemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm", abstract: "POSIX shared memory objects, or System V segments with --sysv.",
        discussion: """
            Names look like /seg. `write` copies stdin into the object, `read` copies bytes to stdout.
            With --sysv, name a System V segment with --key K, --id N, or --path P --proj N instead.


            """ + ExitStatus.table,
        subcommands: [Create.self, Write.self, Read.self, Stat.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an object (fails if the name exists).")
        @Argument(help: "The name, e.g. /seg (not with --sysv).") var name: NameArgument?
        @Option(parsing: .unconditional, help: "The size in bytes, \(IntegerRange.bytes).", transform: IntegerRange.bytes.parse)
        var size: Int
        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("the umask applies, except with --sysv"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws {
            try systemV.checkName(name?.description)
            if systemV.sysv { try systemV.address.validateForCreating() }
        }

        func run() throws {
            if size < 0 { throw ValidationError("--size cannot be negative") }
            if systemV.sysv { return try SystemVSharedMemoryCommand.create(systemV, size: size, mode: mode) }
            _ = try SharedMemory.create(name!.exact, size: size, permissions: mode.permissions)
        }
    }

    struct Write: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy stdin into the object.")
        @Argument(help: "The name (not with --sysv).") var name: NameArgument?
        @Option(parsing: .unconditional, help: "Where to start, in bytes, \(IntegerRange.bytes) (default 0).",
                transform: IntegerRange.bytes.parse)
        var offset = 0
        @Flag(help: "Grow the object when the data does not fit (not with --sysv).") var grow = false
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws {
            try systemV.checkName(name?.description)
            if systemV.sysv, grow { throw ValidationError("a System V segment keeps the size it was created with: --grow does not apply") }
        }

        func run() throws {
            if offset < 0 { throw ValidationError("--offset cannot be negative") }
            if systemV.sysv { return try SystemVSharedMemoryCommand.write(systemV, offset: offset) }
            let name = name!
            let data = try readStandardInput()
            let memory = try SharedMemory.open(name.exact)
            let size = try memory.size
            let (end, overflow) = offset.addingReportingOverflow(data.count)
            if overflow { throw fail("--offset \(offset) is past any possible size", .failed) }
            if end > size {
                guard grow else {
                    throw fail("\(data.count) bytes at offset \(offset) do not fit \(name) (\(size) bytes); use --grow", .failed)
                }
                try memory.resize(to: end)
            }
            if data.isEmpty { return }
            try memory.map(offset: 0, length: end).write(data, at: offset)
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy bytes of the object to stdout.")
        @Argument(help: "The name (not with --sysv).") var name: NameArgument?
        @Option(parsing: .unconditional, help: "Where to start, in bytes, \(IntegerRange.bytes) (default 0).",
                transform: IntegerRange.bytes.parse)
        var offset = 0
        @Option(parsing: .unconditional, help: "How many bytes, \(IntegerRange.bytes) (default: to the end).",
                transform: IntegerRange.bytes.parse)
        var length: Int?
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws { try systemV.checkName(name?.description) }

        func run() throws {
            if offset < 0 { throw ValidationError("--offset cannot be negative") }
            if let length, length < 0 { throw ValidationError("--length cannot be negative") }
            if systemV.sysv { return try SystemVSharedMemoryCommand.read(systemV, offset: offset, length: length) }
            let name = name!
            let memory = try SharedMemory.open(name.exact, access: .readOnly)
            let size = try memory.size
            let count = length ?? max(0, size - offset)
            if count == 0 { return }
            if count > size || offset > size - count {
                throw fail("\(count) bytes at offset \(offset) are past the end of \(name) (\(size) bytes)", .failed)
            }
            let bytes = try memory.map().read(count: count, from: offset)
            try writeStandardOutput(bytes)
        }
    }

    struct Stat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print size, owner and mode (with --sysv also nattch, cpid, lpid and times).")
        @Argument(help: "The name (not with --sysv).") var name: NameArgument?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws { try systemV.checkName(name?.description) }

        func run() throws {
            if systemV.sysv { return try SystemVSharedMemoryCommand.stat(systemV, json: json) }
            let name = name!
            let info = try SharedMemory.open(name.exact, access: .readOnly).info()
            let mode = "0" + String(info.permissions.rawValue, radix: 8)
            if json {
                print(JSONValue.object([
                    ("name", .string(name.description)), ("size", .integer(Int64(info.size))), ("mode", .string(mode)),
                    ("uid", .unsigned(UInt64(info.userID))), ("gid", .unsigned(UInt64(info.groupID))),
                ]).rendered())
            } else {
                print("name: \(name)\nsize: \(info.size)\nmode: \(mode)\nuid: \(info.userID)\ngid: \(info.groupID)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove the name (processes that have it mapped keep it); with --sysv, remove the segment (at its last detach).")
        @Argument(help: "The name (not with --sysv).") var name: NameArgument?
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws { try systemV.checkName(name?.description) }

        func run() throws {
            if systemV.sysv { return try SystemVSharedMemoryCommand.remove(systemV) }
            try SharedMemory.unlink(name!.exact)
        }
    }
}

/// All of stdin.
func readStandardInput() throws(IPCError) -> [UInt8] {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n == 0 { return data }
        if n < 0 {
            if errno == EINTR { continue }
            throw IPCError(.init(rawValue: errno), operation: "read", object: "stdin")
        }
        data += buffer[0..<n]
    }
}

/// Writes every byte to stdout.
func writeStandardOutput(_ bytes: [UInt8]) throws(IPCError) {
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            throw IPCError(.init(rawValue: errno), operation: "write", object: "stdout")
        }
        done += n
    }
}
