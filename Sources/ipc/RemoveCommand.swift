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
/// Every object removed is printed on stdout (`removed shm id 32791`,
/// `removed msg 0x00001234 id 32768`, `removed mq /orders`), every failure on
/// stderr; the others are still removed, and any failure makes the exit status 1.
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove IPC objects.",
        discussion: """
            KIND is msg, sem, shm (by identifier or address), mq, pshm, psem (by name). Record locks \
            cannot be removed: they go when their holder unlocks or exits; nor can doors: each \
            goes when its server closes it or exits.

            A name is given as `ipc ls` shows it: \\xHH is the byte HH and \\\\ a backslash, so \
            names that are not UTF-8 or hold control characters can be removed (`ipc rm mq '/\\xff\\xfe'`).

            Each object removed is printed (`removed shm id 32791`); each failure is printed on \
            stderr and the others are still removed. Exit status 1 when anything could not be \
            removed, or (--all-mine) some kind could not be listed.
            """)

    @Argument(help: "The kind: msg, sem, shm, mq, pshm, psem.") var kind: String?
    @Argument(help: "Identifiers (System V, 0 to 2147483647) or names (POSIX, e.g. /orders).") var objects: [String] = []

    // Values taken as given, even "-1", so that a bad one is refused naming the range.
    @Option(parsing: .unconditional, help: "The key: decimal, 0x-prefixed hex (System V).") var key: String?
    @Option(parsing: .unconditional, help: "The identifier, as ipc ls prints it, 0 to 2147483647 (System V).") var id: String?
    @Option(help: "A file whose ftok key names the object (with --proj).") var path: String?
    @Option(parsing: .unconditional, help: "The ftok project id (with --path): \(IntegerRange.projectID).",
            transform: IntegerRange.projectID.parse)
    var proj: Int?

    @Flag(name: .customLong("all-mine"), help: "Remove every System V object the real user created and every POSIX object it owns.")
    var allMine = false

    private var hasAddress: Bool { key != nil || id != nil || path != nil || proj != nil }

    /// The System V address the options give, built directly (not by parsing
    /// again, whose errors would not be validation errors).
    private func address() throws -> SystemVAddress {
        var address = SystemVAddress()
        address.key = try key.map(SystemVAddress.parseKey)
        address.id = try id.map { try Self.identifier($0, option: "--id") }
        address.path = path
        address.proj = proj
        try address.validate()
        return address
    }

    /// A System V identifier: 0 to Int32.max, refused naming the range.
    static func identifier(_ text: String, option: String? = nil) throws -> Int32 {
        if let id = Int32(text), id >= 0 { return id }
        let what = option.map { "\($0) " } ?? ""
        if text.first.map({ $0 == "-" || $0.isNumber }) == true, text.dropFirst().allSatisfy(\.isNumber) {
            throw ValidationError("\(what)'\(text)' is out of range: identifiers are 0 to \(Int32.max)")
        }
        throw ValidationError("\(what)'\(EscapedText.render(text.utf8))' is not an identifier (0 to \(Int32.max))" + (option == nil ? "; use --key for a key" : ""))
    }

    func validate() throws {
        if allMine {
            if kind != nil || hasAddress { throw ValidationError("--all-mine takes no kind, object or address") }
            return
        }
        guard let kind else { throw ValidationError("name a kind and objects, or use --all-mine") }
        guard let parsed = IPCInventory.Kind(rawValue: kind) else {
            throw ValidationError("unknown kind '\(EscapedText.render(kind.utf8))'; kinds are msg, sem, shm, mq, pshm, psem, lock")
        }
        if parsed == .door {
            throw ValidationError("doors cannot be removed: each goes when its server closes it or exits (ipc ls --kind door shows the server's pid)")
        }
        if parsed == .recordLock {
            throw ValidationError("record locks cannot be removed: each goes when its holder unlocks or exits (ipc ls --kind lock shows the holder's pid)")
        }
        if hasAddress {
            if parsed.systemVKind == nil { throw ValidationError("--key, --id, --path and --proj name System V objects (msg, sem, shm)") }
            if !objects.isEmpty { throw ValidationError("name the object by identifier or by an address option, not both") }
            _ = try address()
        } else if objects.isEmpty {
            throw ValidationError(parsed.systemVKind != nil ? "name the object: an identifier, --key, --id or --path with --proj" : "name the object, e.g. /orders")
        }
        if parsed.systemVKind != nil { for object in objects { _ = try Self.identifier(object) } }
    }

    func run() throws {
        if allMine { return try removeAllMine() }
        let kind = IPCInventory.Kind(rawValue: self.kind!)!
        var failed = false
        func attempt(_ body: () throws(IPCError) -> String) {
            do { report(try body()) } catch {
                warn(error.description)
                failed = true
            }
        }
        if let systemV = kind.systemVKind {
            if objects.isEmpty {
                let address = try address()
                attempt { () throws(IPCError) in
                    let key = try address.resolvedKey()
                    let id: Int32
                    do throws(IPCError) { id = try address.identifier(of: systemV) } catch {
                        var error = error
                        if error.errno == .noSuchFileOrDirectory { error.detail = "there is no \(kind) object with this key" }
                        throw error
                    }
                    try IPCInventory.remove(kind, id: id)
                    return "removed \(kind)" + (key.map { " \($0)" } ?? "") + " id \(id)"
                }
            }
            for object in objects {
                let id = try Self.identifier(object)
                attempt { () throws(IPCError) in
                    try IPCInventory.remove(kind, id: id)
                    return "removed \(kind) id \(id)"
                }
            }
        } else {
            for object in objects {
                // The argument's exact bytes (raw, or escaped as `ipc ls` shows them):
                // `object` itself has invalid UTF-8 already repaired to U+FFFD.
                let name = PosixIPCName(bytes: EscapedText.bytes(parsing: RawArguments.claim(object)))
                attempt { () throws(IPCError) in
                    try IPCInventory.remove(kind, name: name)
                    return "removed \(kind) \(name)"
                }
            }
        }
        if failed { throw ExitCode(ExitStatus.failed.rawValue) }
    }

    private func removeAllMine() throws {
        let result = IPCInventory.removeAll(ownedBy: getuid())
        for entry in result.removed {
            let what = entry.key.map { $0.description } ?? entry.name?.description ?? "-"
            report("removed \(entry.kind) \(what)" + (entry.id.map { " id \($0)" } ?? ""))
        }
        for kind in IPCInventory.Kind.allCases {
            if let reason = result.unavailable[kind] { warn("\(kind) objects not listed, so none removed: \(reason)") }
        }
        for failure in result.failed { warn(failure.error.description) }
        if !result.failed.isEmpty || !result.unavailable.isEmpty { throw ExitCode(ExitStatus.failed.rawValue) }
    }

    /// One line on stdout, flushed before any error that follows on stderr.
    private func report(_ line: String) {
        print(line)
        fflush(nil)
    }
}
