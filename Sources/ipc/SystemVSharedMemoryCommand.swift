import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `--sysv` and the System V address of `ipc shm create|write|read|stat|rm`.
///
/// The address options are `SystemVAddress`'s, declared here again because an
/// `@OptionGroup var address: SystemVAddress` insists on an address even without
/// `--sysv`; `address` builds the `SystemVAddress` from them.
struct SystemVSharedMemoryOptions: ParsableArguments {
    @Flag(help: "Work on a System V segment, named by --key, --id, or --path with --proj, instead of a POSIX object.")
    var sysv = false
    @Option(parsing: .unconditional, help: ArgumentHelp("With --sysv: " + SystemVAddress.keyHelp, valueName: "key"),
            transform: SystemVAddress.parseKey)
    var key: IPCKey?
    @Option(parsing: .unconditional, help: "With --sysv: the identifier, as ipcs and ipc ls print it (\(IntegerRange.systemVIdentifier)).",
            transform: IntegerRange.systemVIdentifier.parse)
    var id: Int32?
    @Option(help: "With --sysv: a file whose ftok key names the segment (with --proj).") var path: String?
    @Option(parsing: .unconditional, help: "With --sysv: the ftok project id (with --path): \(IntegerRange.projectID).",
            transform: IntegerRange.projectID.parse)
    var proj: Int?

    func validate() throws {
        if sysv {
            try address.validate()
        } else if key != nil || id != nil || path != nil || proj != nil {
            throw ValidationError("--key, --id, --path and --proj name System V segments: add --sysv")
        }
    }

    var address: SystemVAddress {
        var address = SystemVAddress()
        address.key = key
        address.id = id
        address.path = path
        address.proj = proj
        return address
    }

    /// The POSIX name the command needs without --sysv; with --sysv there must be none.
    func checkName(_ name: String?) throws {
        if sysv, let name {
            throw ValidationError("with --sysv, name the segment with --key, --id or --path/--proj, not \"\(name)\"")
        }
        if !sysv, name == nil {
            throw ValidationError("missing the name of the POSIX object (e.g. /seg), or add --sysv for a System V segment")
        }
    }

    /// The segment the address names (it must exist).
    func segment() throws(IPCError) -> SystemVSharedMemory {
        SystemVSharedMemory(id: try address.identifier(of: .sharedMemory))
    }
}

/// The System V side of `ipc shm` (SPEC H4), run by the subcommands in
/// `SharedMemoryCommand` when `--sysv` is given.
enum SystemVSharedMemoryCommand {
    /// Creates the segment (exclusively) and prints its identifier.
    static func create(_ options: SystemVSharedMemoryOptions, size: Int, mode: PosixObjectMode) throws {
        let segment = try SystemVSharedMemory.create(key: options.address.keyForCreating(), size: size, permissions: mode.permissions)
        try printCreated("\(segment.id)", created: "created segment id \(segment.id)")
    }

    /// Copies stdin into the segment at `offset`, a chunk at a time (attached once).
    static func write(_ options: SystemVSharedMemoryOptions, offset: Int) throws {
        let segment = try options.segment()
        let attachment = try segment.attach()
        let size = attachment.count
        let object = "segment \(segment.id)"
        if offset > size { throw fail("--offset \(offset) is past the end of \(object) (\(byteCount(size)))", .failed) }
        _ = try copyStandardInput(
            toOffset: offset, room: size - offset,
            roomText: "\(object) (\(byteCount(size))) has room for \(size - offset) from offset \(offset)",
            store: { (chunk, position) throws(IPCError) in try attachment.mapping.write(chunk, at: position) })
    }

    /// Copies `length` bytes (to the end when nil) from `offset` to stdout, a chunk
    /// at a time (attached once).
    static func read(_ options: SystemVSharedMemoryOptions, offset: Int, length: Int?) throws {
        let segment = try options.segment()
        let attachment = try segment.attach(readOnly: true)
        let range = try selectedRange(offset: offset, length: length, size: attachment.count, object: "segment \(segment.id)")
        try copyToStandardOutput(range) { (chunk, position) throws(IPCError) in
            try attachment.mapping.read(into: chunk, from: position)
        }
    }

    /// Prints what `shmctl(IPC_STAT)` says.
    static func stat(_ options: SystemVSharedMemoryOptions, json: Bool) throws {
        let segment = try options.segment()
        let status = try segment.status()
        let permissions = status.permissions
        let mode = "0" + String(permissions.mode.rawValue, radix: 8)
        if json {
            func time(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
            try printResult(JSONValue.object([
                ("id", .integer(Int64(segment.id))), ("key", .string(permissions.key.description)),
                ("size", .integer(Int64(status.size))), ("nattch", .integer(Int64(status.attachCount))),
                ("cpid", .integer(Int64(status.creatorPID))), ("lpid", .integer(Int64(status.lastOperationPID))),
                ("uid", .unsigned(UInt64(permissions.uid))), ("gid", .unsigned(UInt64(permissions.gid))),
                ("cuid", .unsigned(UInt64(permissions.creatorUID))), ("cgid", .unsigned(UInt64(permissions.creatorGID))),
                ("mode", .string(mode)), ("atime", time(status.attachTime)), ("dtime", time(status.detachTime)),
                ("ctime", time(status.changeTime)), ("dest", .bool(status.isMarkedForRemoval)), ("locked", .bool(status.isLocked)),
            ]).rendered())
        } else {
            func time(_ value: Int?) -> String { value.map { "\($0) (\(localTimeText($0)))" } ?? "never" }
            try printResult("""
                id: \(segment.id)
                key: \(permissions.key)
                size: \(status.size)
                nattch: \(status.attachCount)
                cpid: \(status.creatorPID)
                lpid: \(status.lastOperationPID)
                owner: uid \(permissions.uid) gid \(permissions.gid)
                creator: uid \(permissions.creatorUID) gid \(permissions.creatorGID)
                mode: \(mode)
                atime: \(time(status.attachTime))
                dtime: \(time(status.detachTime))
                ctime: \(time(status.changeTime))
                marked for removal: \(status.isMarkedForRemoval ? "yes" : "no")
                locked: \(status.isLocked ? "yes" : "no")
                """)
        }
    }

    /// Removes the segment (`IPC_RMID`): now, or at the last detach.
    static func remove(_ options: SystemVSharedMemoryOptions) throws {
        try options.segment().remove()
    }
}
