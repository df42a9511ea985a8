import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `ipc ls`: every IPC object on the host (SPEC L2), the jobs of ipcs, lsipc and
/// lslocks in one table.
///
/// The table's columns are always KIND, KEY/NAME, ID, OWNER, MODE, SIZE/COUNT,
/// USERS, CPID/PID, CREATED/CHANGED (System V `ctime`: creation or last
/// IPC_SET; a POSIX object's file ctime); "-" where a kind has no such thing.
/// USERS is a segment's nattch or the processes that have a POSIX object open or
/// mapped; CPID/PID a segment's creator or a lock's holder. Kinds that could not
/// be listed are named on stderr with the reason, after the table.
///
/// With `--json`, an array of objects: `{"kind":"shm","key":"0x00001234","name":null,"id":32768,
/// "ownerUID":0,"owner":"root","groupGID":0,"creatorUID":0,"creatorGID":0,
/// "mode":"0600","bytes":4096,"count":null,"users":1,"creatorPID":42,
/// "lastPID":42,"holderPID":null,"changed":1700000000,"lastUsed":1700000000,
/// "markedForRemoval":false,"lock":null}`; for a lock, `"lock":{"style":"POSIX",
/// "access":"WRITE","mode":"ADVISORY","device":"00:1f","inode":123,"start":0,"end":null,"waiting":false}`
/// (`end` null means to the end of the file).
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List every IPC object on the host (SPEC L2).",
        discussion: "Kinds: msg, sem, shm (System V), mq, pshm, psem (POSIX), lock (record locks).")

    @Option(name: .customLong("kind"), help: ArgumentHelp("Only these kinds (repeat or comma-separate): msg, sem, shm, mq, pshm, psem, lock.", valueName: "KIND"))
    var kinds: [String] = []

    @Option(help: ArgumentHelp("Only objects owned by this user (name or uid).", valueName: "USER"))
    var owner: String?

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    func run() throws {
        let selected = try Self.parseKinds(kinds)
        let uid = try owner.map { text throws in try Self.userID(text) }
        let inventory = IPCInventory.snapshot(kinds: selected, owner: uid)
        print(json ? Self.json(inventory.entries).rendered() : Self.table(inventory.entries))
        fflush(nil)  // the table first, then the notes on stderr
        for kind in IPCInventory.Kind.allCases {
            if let reason = inventory.unavailable[kind] { warn("\(kind) objects not listed: \(reason)") }
        }
    }

    static func parseKinds(_ texts: [String]) throws -> Set<IPCInventory.Kind> {
        if texts.isEmpty { return Set(IPCInventory.Kind.allCases) }
        var kinds: Set<IPCInventory.Kind> = []
        for text in texts.flatMap({ $0.split(separator: ",") }) {
            guard let kind = IPCInventory.Kind(rawValue: String(text)) else {
                throw ValidationError("unknown kind '\(text)'; kinds are msg, sem, shm, mq, pshm, psem, lock")
            }
            kinds.insert(kind)
        }
        return kinds
    }

    /// A user id from a number or a login name.
    static func userID(_ text: String) throws -> uid_t {
        if let uid = uid_t(text) { return uid }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(text, &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            throw ValidationError("no user '\(text)'")
        }
        return entry.pw_uid
    }

    // MARK: table

    static let headers = ["KIND", "KEY/NAME", "ID", "OWNER", "MODE", "SIZE/COUNT", "USERS", "CPID/PID", "CREATED/CHANGED"]

    static func table(_ entries: [IPCInventory.Entry]) -> String {
        let rows = [headers] + entries.map(cells)
        var widths = [Int](repeating: 0, count: headers.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func cells(_ entry: IPCInventory.Entry) -> [String] {
        let dash = "-"
        let keyOrName: String
        if let key = entry.key { keyOrName = key.description } else if entry.kind == .recordLock { keyOrName = entry.name ?? "unknown" } else { keyOrName = entry.name ?? dash }
        let owner = entry.ownerName ?? entry.ownerUID.map { String($0) } ?? dash
        var mode = entry.mode.map { octal($0.rawValue) } ?? dash
        var size: String
        switch entry.kind {
        case .systemVQueue, .posixQueue:
            size = "\(entry.bytes.map(String.init) ?? "?") B, " + counted(entry.count, "msg")
        case .systemVSemaphoreSet: size = counted(entry.count, "sem")
        case .posixSemaphore: size = "value \(entry.count.map(String.init) ?? "?")"
        case .systemVSharedMemory, .posixSharedMemory: size = "\(entry.bytes.map(String.init) ?? "?") B"
        case .recordLock: size = dash
        }
        var pid = entry.creatorPID.map { String($0) } ?? dash
        if let lock = entry.lock {
            mode = "\(lock.style) \(lock.access)" + (lock.isWaiting ? " (waiting)" : "")
            size = "\(lock.start)..\(lock.end.map(String.init) ?? "EOF")"
            pid = entry.holderPID.map { String($0) } ?? dash
        }
        if entry.isMarkedForRemoval { mode += " (removed)" }
        return [entry.kind.rawValue, keyOrName, entry.id.map { String($0) } ?? dash, owner, mode, size,
                entry.users.map { String($0) } ?? dash, pid, entry.changeTime.map { localTimeText(Int($0)) } ?? dash]
    }

    /// `1 msg`, `3 msgs`, `? msgs` when unknown.
    static func counted(_ count: Int?, _ noun: String) -> String {
        guard let count else { return "? \(noun)s" }
        return "\(count) \(noun)" + (count == 1 ? "" : "s")
    }

    static func octal(_ bits: CModeT) -> String {
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }


    // MARK: JSON

    static func json(_ entries: [IPCInventory.Entry]) -> JSONValue {
        .array(entries.map(json))
    }

    static func json(_ entry: IPCInventory.Entry) -> JSONValue {
        func number<T: BinaryInteger>(_ value: T?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
        func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        var lock = JSONValue.null
        if let details = entry.lock {
            lock = .object([
                ("style", .string(details.style.rawValue)),
                ("access", .string(details.access.rawValue)),
                ("mode", .string(details.mode)),
                ("device", .string(hex2(details.deviceMajor) + ":" + hex2(details.deviceMinor))),
                ("inode", .unsigned(details.inode)),
                ("start", .integer(details.start)),
                ("end", number(details.end)),
                ("waiting", .bool(details.isWaiting)),
            ])
        }
        return .object([
            ("kind", .string(entry.kind.rawValue)),
            ("key", string(entry.key?.description)),
            ("name", string(entry.name)),
            ("id", number(entry.id)),
            ("ownerUID", number(entry.ownerUID)),
            ("owner", string(entry.ownerName)),
            ("groupGID", number(entry.ownerGID)),
            ("creatorUID", number(entry.creatorUID)),
            ("creatorGID", number(entry.creatorGID)),
            ("mode", string(entry.mode.map { octal($0.rawValue) })),
            ("bytes", number(entry.bytes)),
            ("count", number(entry.count)),
            ("users", number(entry.users)),
            ("creatorPID", number(entry.creatorPID)),
            ("lastPID", number(entry.lastPID)),
            ("holderPID", number(entry.holderPID)),
            ("changed", number(entry.changeTime)),
            ("lastUsed", number(entry.lastUseTime)),
            ("markedForRemoval", .bool(entry.isMarkedForRemoval)),
            ("lock", lock),
        ])
    }

    private static func hex2(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
