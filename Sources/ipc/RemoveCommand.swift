import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc rm`: remove IPC objects (SPEC L2, V3), the job of ipcrm.
///
///     ipc rm msg 32768 65537          System V objects by identifier
///     ipc rm msg --key 0x1234         … by key (or --id N, or --path P --proj N)
///     ipc rm mq /orders               POSIX objects by name (mq, pshm, psem)
///     ipc rm --all-mine               everything the real user created
///
/// Each object that cannot be removed is reported on stderr and makes the exit
/// status 1; the others are still removed. `--all-mine` prints one line per
/// object it removed: `removed KIND KEY/NAME id ID`.
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove IPC objects (SPEC L2, V3).",
        discussion: "KIND is msg, sem, shm (by identifier or address), mq, pshm, psem (by name). Record locks cannot be removed: they go when their holder unlocks or exits.")

    @Argument(help: "The kind: msg, sem, shm, mq, pshm, psem.") var kind: String?
    @Argument(help: "Identifiers (System V) or names (POSIX, e.g. /orders).") var objects: [String] = []

    @Option(help: "The key: decimal, 0x-prefixed hex (System V).") var key: String?
    @Option(help: "The identifier, as ipc ls prints it (System V).") var id: Int32?
    @Option(help: "A file whose ftok key names the object (with --proj).") var path: String?
    @Option(help: "The ftok project id, 1-255 (with --path).") var proj: Int?

    @Flag(name: .customLong("all-mine"), help: "Remove every System V object the real user created and every POSIX object it owns.")
    var allMine = false

    private var addressArguments: [String] {
        var arguments: [String] = []
        if let key { arguments += ["--key", key] }
        if let id { arguments += ["--id", String(id)] }
        if let path { arguments += ["--path", path] }
        if let proj { arguments += ["--proj", String(proj)] }
        return arguments
    }

    func validate() throws {
        if allMine {
            if kind != nil || !addressArguments.isEmpty { throw ValidationError("--all-mine takes no kind, object or address") }
            return
        }
        guard let kind else { throw ValidationError("name a kind and objects, or use --all-mine") }
        guard let parsed = IPCInventory.Kind(rawValue: kind) else {
            throw ValidationError("unknown kind '\(kind)'; kinds are msg, sem, shm, mq, pshm, psem, lock")
        }
        if !addressArguments.isEmpty {
            if parsed.systemVKind == nil { throw ValidationError("--key, --id, --path and --proj name System V objects (msg, sem, shm)") }
            if !objects.isEmpty { throw ValidationError("name the object by identifier or by an address option, not both") }
            _ = try SystemVAddress.parse(addressArguments)
        } else if objects.isEmpty {
            throw ValidationError(parsed.systemVKind != nil ? "name the object: an identifier, --key, --id or --path with --proj" : "name the object, e.g. /orders")
        }
        if parsed.systemVKind != nil, let bad = objects.first(where: { Int32($0) == nil }) {
            throw ValidationError("'\(bad)' is not an identifier; use --key for a key")
        }
    }

    func run() throws {
        if allMine { return try removeAllMine() }
        let kind = IPCInventory.Kind(rawValue: self.kind!)!
        var failed = false
        func attempt(_ body: () throws(IPCError) -> Void) {
            do { try body() } catch {
                warn(error.description)
                failed = true
            }
        }
        if let systemV = kind.systemVKind {
            if objects.isEmpty {
                let address = try SystemVAddress.parse(addressArguments)
                attempt { () throws(IPCError) in
                    let id: Int32
                    do throws(IPCError) { id = try address.identifier(of: systemV) } catch {
                        var error = error
                        if error.errno == .noSuchFileOrDirectory { error.detail = "there is no \(kind) object with this key" }
                        throw error
                    }
                    try IPCInventory.remove(kind, id: id)
                }
            }
            for object in objects {
                attempt { () throws(IPCError) in try IPCInventory.remove(kind, id: Int32(object)!) }
            }
        } else {
            for object in objects {
                attempt { () throws(IPCError) in try IPCInventory.remove(kind, name: object) }
            }
        }
        if failed { throw ExitCode(ExitStatus.failed.rawValue) }
    }

    private func removeAllMine() throws {
        let result = IPCInventory.removeAll(ownedBy: getuid())
        for entry in result.removed {
            let what = entry.key.map { $0.description } ?? entry.name ?? "-"
            print("removed \(entry.kind) \(what)" + (entry.id.map { " id \($0)" } ?? ""))
        }
        fflush(nil)
        for kind in IPCInventory.Kind.allCases {
            if let reason = result.unavailable[kind] { warn("\(kind) objects not listed, so none removed: \(reason)") }
        }
        for failure in result.failed { warn(failure.error.description) }
        if !result.failed.isEmpty { throw ExitCode(ExitStatus.failed.rawValue) }
    }
}
