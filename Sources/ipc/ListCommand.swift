import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `ipc ls`: every IPC object on the host (SPEC L2), the jobs of ipcs, lsipc and
/// lslocks in one table (`ListTable`) or one JSON document (`ListJSON`).
///
/// After the table, on stderr: each malformed object with the reason, each file
/// skipped and why, and each kind that could not be listed. A listing missing a
/// kind is incomplete: the exit status is then 1.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List every IPC object on the host.",
        discussion: """
            Kinds: msg, sem, shm (System V), mq, pshm, psem (POSIX), lock (record locks), door (doors being served: path, server pid, procedure, clients, calls served).

            Columns (--output, comma-separated, by name or header; the default is \
            \(ListTable.Column.standard.map(\.rawValue).joined(separator: ","))):
            \(ListTable.Column.allCases.map { "  " + ListTable.padded($0.rawValue, 9) + $0.help }.joined(separator: "\n"))

            Names and paths are shown escaped: control characters and bytes that are not UTF-8 \
            as \\xHH, a backslash as \\\\ — as `ipc rm` accepts them. Sizes are shown for people \
            (4K, 1.5M; --bytes for bytes). A POSIX queue's bytes are not shown: reading them \
            would change the queue's times.

            Malformed objects (a sem.NAME file that is not a semaphore) show "malformed" and the \
            reason after the table; files that are no objects (a FIFO or directory in /dev/shm) \
            are skipped, and named after the table. --json prints {"objects": [...], \
            "skipped": [...], "unavailable": [...]} with every field, sizes in bytes, and each \
            name exact ("name", and "nameHex": its bytes in hex).

            Exit status 1 when some kind could not be listed (the output has the others).
            """)

    @Option(name: .customLong("kind"), help: ArgumentHelp("Only these kinds (repeat or comma-separate): msg, sem, shm, mq, pshm, psem, lock, door.", valueName: "KIND"))
    var kinds: [String] = []

    @Option(help: ArgumentHelp("Only objects owned by this user (name or uid).", valueName: "USER"))
    var owner: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The table's columns (repeat or comma-separate); see below.", valueName: "COLUMNS"))
    var output: [String] = []

    @Flag(name: [.customShort("n"), .long], help: "Print the table without its header line.")
    var noheadings = false

    @Flag(name: [.customShort("b"), .long], help: "Print sizes in bytes, not 4K, 1.5M.")
    var bytes = false

    @Flag(name: [.customShort("J"), .long], help: "Print one JSON object (see below) instead of a table.")
    var json = false

    func validate() throws {
        _ = try Self.parseKinds(kinds)
        _ = try ListTable.columns(output)
        if json && (!output.isEmpty || noheadings || bytes) {
            throw ValidationError("--output, --noheadings and --bytes shape the table; --json prints every field, sizes in bytes")
        }
    }

    func run() throws {
        let selected = try Self.parseKinds(kinds)
        let uid = try owner.map { text throws in try Self.userID(text) }
        let inventory = IPCInventory.snapshot(kinds: selected, owner: uid)
        if json {
            print(ListJSON.document(inventory).rendered())
        } else {
            let table = ListTable.render(inventory.entries, columns: try ListTable.columns(output), headings: !noheadings, exactBytes: bytes)
            if !table.isEmpty { print(table) }
        }
        fflush(nil)  // the table first, then the notes on stderr
        if !json {
            for entry in inventory.entries {
                if let reason = entry.malformation { warn("\(entry.kind) \(ListTable.cell(.name, entry, exactBytes: true)) is malformed: \(reason)") }
            }
            for file in inventory.skipped { warn("skipped \(EscapedText.render(file.path)): \(file.reason)") }
        }
        let missing = IPCInventory.Kind.allCases.filter { inventory.unavailable[$0] != nil }
        for kind in missing { warn("\(kind) objects not listed, the list is incomplete: \(inventory.unavailable[kind]!)") }
        if !missing.isEmpty { throw ExitCode(ExitStatus.failed.rawValue) }
    }

    static func parseKinds(_ texts: [String]) throws -> Set<IPCInventory.Kind> {
        if texts.isEmpty { return Set(IPCInventory.Kind.allCases) }
        let choices = IPCInventory.Kind.allCases.map(\.rawValue).joined(separator: ", ")
        return Set(try items(texts, option: "--kind", noun: "kind", choices: choices).map { text in
            guard let kind = IPCInventory.Kind(rawValue: String(text)) else {
                throw ValidationError("unknown kind '\(EscapedText.render(text.utf8))'; kinds are \(choices)")
            }
            return kind
        })
    }

    /// The items of a repeatable, comma-separated option; an empty item
    /// (`--kind ""`, `--kind msg,`) is refused.
    static func items(_ texts: [String], option: String, noun: String, choices: String) throws -> [Substring] {
        let items = texts.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        if items.contains(where: \.isEmpty) { throw ValidationError("\(option) needs a \(noun) in each comma-separated item: \(choices)") }
        return items
    }

    /// A user id from a number or a login name.
    static func userID(_ text: String) throws -> uid_t {
        if let uid = uid_t(text) { return uid }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(text, &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            throw ValidationError("no user '\(EscapedText.render(text.utf8))'")
        }
        return entry.pw_uid
    }
}
