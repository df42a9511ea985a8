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
        @Argument(help: "The name, e.g. /seg (not with --sysv).", transform: NameArgument.parser(for: .sharedMemory)) var name: NameArgument?
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
            if systemV.sysv { return try SystemVSharedMemoryCommand.create(systemV, size: size, mode: mode) }
            _ = try PosixSharedMemory.create(name!.exact, size: size, permissions: mode.permissions)
        }
    }

    struct Write: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy stdin into the object.")
        @Argument(help: "The name (not with --sysv).", transform: NameArgument.parser(for: .sharedMemory)) var name: NameArgument?
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
            if systemV.sysv { return try SystemVSharedMemoryCommand.write(systemV, offset: offset) }
            let name = name!
            let memory = try PosixSharedMemory.open(name.exact)
            let size = try memory.size
            if grow {
                let capacity = try memory.filesystemCapacity ?? Int.max
                let limit = "\(name) can grow to at most \(byteCount(capacity)) (the size of the filesystem that holds it)"
                if offset > capacity { throw fail("--offset \(offset) is past any possible size: \(limit)", .failed) }
                var grownTo = size
                _ = try copyStandardInput(
                    toOffset: offset, room: capacity - offset, roomText: "\(limit), \(capacity - offset) from offset \(offset)",
                    prepare: { (end) throws(IPCError) in
                        if end > grownTo { try memory.resize(to: end); grownTo = end }
                    },
                    store: { (chunk, position) throws(IPCError) in try write(chunk, at: position, of: memory) })
            } else {
                if offset > size { throw fail("--offset \(offset) is past the end of \(name) (\(byteCount(size))); use --grow", .failed) }
                _ = try copyStandardInput(
                    toOffset: offset, room: size - offset,
                    roomText: "\(name) (\(byteCount(size))) has room for \(size - offset) from offset \(offset)", hint: "use --grow",
                    store: { (chunk, position) throws(IPCError) in try write(chunk, at: position, of: memory) })
            }
        }

        /// Maps the pages `chunk` lands on, only those, and copies it there.
        private func write(_ chunk: UnsafeRawBufferPointer, at position: Int, of memory: borrowing PosixSharedMemory) throws(IPCError) {
            let window = try memory.map(covering: position..<(position + chunk.count))
            try window.write(chunk, at: position - window.offset)
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy bytes of the object to stdout.")
        @Argument(help: "The name (not with --sysv).", transform: NameArgument.parser(for: .sharedMemory)) var name: NameArgument?
        @Option(parsing: .unconditional, help: "Where to start, in bytes, \(IntegerRange.bytes) (default 0).",
                transform: IntegerRange.bytes.parse)
        var offset = 0
        @Option(parsing: .unconditional, help: "How many bytes, \(IntegerRange.bytes) (default: to the end).",
                transform: IntegerRange.bytes.parse)
        var length: Int?
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws { try systemV.checkName(name?.description) }

        func run() throws {
            if systemV.sysv { return try SystemVSharedMemoryCommand.read(systemV, offset: offset, length: length) }
            let name = name!
            let memory = try PosixSharedMemory.open(name.exact, access: .readOnly)
            let range = try selectedRange(offset: offset, length: length, size: try memory.size, object: name.description)
            try copyToStandardOutput(range) { (chunk, position) throws(IPCError) in
                let window = try memory.map(covering: position..<(position + chunk.count))
                try window.read(into: chunk, from: position - window.offset)
            }
        }
    }

    struct Stat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print size, owner and mode (with --sysv also nattch, cpid, lpid and times).")
        @Argument(help: "The name (not with --sysv).", transform: NameArgument.parser(for: .sharedMemory)) var name: NameArgument?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws { try systemV.checkName(name?.description) }

        func run() throws {
            if systemV.sysv { return try SystemVSharedMemoryCommand.stat(systemV, json: json) }
            let name = name!
            let info = try PosixSharedMemory.open(name.exact, access: .readOnly).info()
            let mode = "0" + String(info.permissions.rawValue, radix: 8)
            if json {
                try printResult(JSONValue.object([
                    ("name", .string(name.description)), ("size", .integer(Int64(info.size))), ("mode", .string(mode)),
                    ("uid", .unsigned(UInt64(info.userID))), ("gid", .unsigned(UInt64(info.groupID))),
                ]).rendered())
            } else {
                try printResult("name: \(name)\nsize: \(info.size)\nmode: \(mode)\nuid: \(info.userID)\ngid: \(info.groupID)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove the name (processes that have it mapped keep it); with --sysv, remove the segment (at its last detach).")
        @Argument(help: "The name (not with --sysv).", transform: NameArgument.parser(for: .sharedMemory)) var name: NameArgument?
        @OptionGroup(title: "System V") var systemV: SystemVSharedMemoryOptions

        func validate() throws { try systemV.checkName(name?.description) }

        func run() throws {
            if systemV.sysv { return try SystemVSharedMemoryCommand.remove(systemV) }
            try PosixSharedMemory.unlink(name!.exact)
        }
    }
}
