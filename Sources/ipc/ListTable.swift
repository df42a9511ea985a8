import ArgumentParser
import Interprocess
import SystemPackage

/// The table of `ipc ls`: its columns (chosen with `--output`, as in `lsipc` and
/// `lslocks`) and how each cell shows an entry. Every cell is one line: names,
/// paths and any text from the system are escaped by `EscapedText` (control
/// characters, backslashes and bytes that are not UTF-8 as `\xHH` and `\\`), so a
/// name with a newline cannot split a row.
enum ListTable {
    enum Column: String, CaseIterable {
        case kind, name, id, owner, mode, size, users, pid, changed
        case uid, gid, cuid, cgid, lpid, used, placed

        /// The columns shown without `--output`.
        static let standard: [Column] = [.kind, .name, .id, .owner, .mode, .size, .users, .pid, .changed]

        var header: String {
            switch self {
            case .name: "KEY/NAME"
            case .size: "SIZE/COUNT"
            case .pid: "CPID/PID"
            case .changed: "CREATED/CHANGED"
            case .used: "LAST-USED"
            default: rawValue.uppercased()
            }
        }

        var help: String {
            switch self {
            case .kind: "msg, sem, shm, mq, pshm, psem, lock or door"
            case .name: "a System V key, a POSIX name, a locked file's or a door's path"
            case .id: "a System V identifier, a lock's number, a door's number in its server"
            case .owner: "the owner's name, or uid"
            case .mode: "permissions; a lock's type"
            case .size: "bytes, messages, semaphores, a value, a locked range; a door's procedure and calls served"
            case .users: "attachments, processes with the object open or mapped, a door's clients"
            case .pid: "a segment's creator, a lock's holder, a door's server"
            case .changed: "creation or last change: System V ctime, a file's ctime"
            case .uid: "the owner's uid"
            case .gid: "the owner's gid"
            case .cuid: "the creator's uid, System V"
            case .cgid: "the creator's gid, System V"
            case .lpid: "the last process that sent to a queue or attached a segment"
            case .used: "the last use: System V stime, otime, atime; a file's mtime"
            case .placed: "the layout placed in POSIX shared memory (its header's type and version); a channel's producers, receiver, ring size and fill level"
            }
        }

        /// A column by its name (`name`) or its header (`KEY/NAME`), any case.
        init?(naming text: Substring) {
            let lowered = text.lowercased()
            guard let column = Column(rawValue: lowered) ?? Column.allCases.first(where: { $0.header.lowercased() == lowered }) else { return nil }
            self = column
        }
    }

    /// The columns `--output` names, comma-separated (repeatable).
    static func columns(_ texts: [String]) throws -> [Column] {
        if texts.isEmpty { return Column.standard }
        return try ListCommand.items(texts, option: "--output", noun: "column", choices: columnNames).map { text in
            guard let column = Column(naming: text) else {
                throw ValidationError("unknown column '\(EscapedText.render(text.utf8))'; columns are \(columnNames)")
            }
            return column
        }
    }

    /// `text` followed by spaces up to `length` characters.
    static func padded(_ text: String, _ length: Int) -> String {
        text + String(repeating: " ", count: max(1, length - text.count))
    }

    static var columnNames: String { Column.allCases.map(\.rawValue).joined(separator: ", ") }

    /// The table: a header line (unless `headings` is false), then one line per entry.
    static func render(_ entries: [IPCInventory.Entry], columns: [Column], headings: Bool, exactBytes: Bool) -> String {
        var rows = entries.map { entry in columns.map { cell($0, entry, exactBytes: exactBytes) } }
        if headings { rows.insert(columns.map(\.header), at: 0) }
        var widths = [Int](repeating: 0, count: columns.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func cell(_ column: Column, _ entry: IPCInventory.Entry, exactBytes: Bool) -> String {
        let dash = "-"
        func number<T: BinaryInteger>(_ value: T?) -> String { value.map { String($0) } ?? dash }
        switch column {
        case .kind: return entry.kind.rawValue
        case .name:
            if let key = entry.key { return key.description }
            if let name = entry.name { return name.description }
            if let path = entry.path { return EscapedText.render(path) }
            return entry.kind == .recordLock ? "unknown" : dash
        case .id: return number(entry.id)
        case .owner: return entry.ownerName.map { EscapedText.render($0.utf8) } ?? number(entry.ownerUID)
        case .mode:
            var mode = entry.mode.map { ListJSON.octal($0.rawValue) } ?? dash
            if let lock = entry.lock {
                mode = EscapedText.render("\(lock.style) \(lock.access)".utf8) + (lock.isWaiting ? " (waiting)" : "")
            }
            return entry.isMarkedForRemoval ? mode + " (removed)" : mode
        case .size: return size(entry, exactBytes: exactBytes)
        case .users: return number(entry.users)
        case .pid: return entry.lock != nil ? number(entry.holderPID) : number(entry.creatorPID)
        case .changed: return entry.changeTime.map { localTimeText(Int($0)) } ?? dash
        case .uid: return number(entry.ownerUID)
        case .gid: return number(entry.ownerGID)
        case .cuid: return number(entry.creatorUID)
        case .cgid: return number(entry.creatorGID)
        case .lpid: return number(entry.lastPID)
        case .used: return entry.lastUseTime.map { $0 == 0 ? "never" : localTimeText(Int($0)) } ?? dash
        case .placed:
            guard let placement = entry.placement else { return dash }
            let text = EscapedText.render(placement.type) + " v\(placement.version)"
            switch placement.state {
            case .ready: return entry.channel.map { text + ": " + channelText($0) } ?? text
            case .initialising(let pid): return text + " (initialising by \(pid))"
            }
        }
    }

    /// A channel in the PLACED column: `producers 2/4 (pids 10, 11), receiver pid 12,
    /// 64K ring each, 3% full`.
    static func channelText(_ channel: SharedMemoryChannel.Status) -> String {
        let pids = channel.attachedProducers
        let producers = "producers \(pids.count)/\(channel.producers.count)" + (pids.isEmpty ? "" : " (pid\(pids.count == 1 ? "" : "s") \(pids.map(String.init).joined(separator: ", ")))")
        let receiver: String
        switch channel.receiver {
        case .attached(let pid): receiver = "receiver pid \(pid)"
        default: receiver = "no receiver"
        }
        let each = channel.producers.count == 1 ? "ring" : "ring each"
        return "\(producers), \(receiver), \(humanSize(channel.capacity)) \(each), \(Int((channel.fillLevel * 100).rounded()))% full"
    }

    /// SIZE/COUNT: `4K`, `1.5K, 3 msgs`, `2 sems`, `value 1`, `0..EOF`, `echo: 3 calls`, `malformed`.
    private static func size(_ entry: IPCInventory.Entry, exactBytes: Bool) -> String {
        if entry.malformation != nil { return "malformed" }
        let bytes = entry.bytes.map { exactBytes ? "\($0)B" : humanSize($0) } ?? "?"
        switch entry.kind {
        case .systemVQueue: return "\(bytes), " + counted(entry.count, "msg")
        case .posixQueue: return counted(entry.count, "msg")
        case .systemVSemaphoreSet: return counted(entry.count, "sem")
        case .posixSemaphore: return "value \(entry.count.map(String.init) ?? "?")"
        case .systemVSharedMemory, .posixSharedMemory: return bytes
        case .recordLock:
            guard let lock = entry.lock else { return "-" }
            return "\(lock.start)..\(lock.end.map(String.init) ?? "EOF")"
        case .door:
            guard let door = entry.door else { return "-" }
            let calls = door.callsServed == 1 ? "1 call" : "\(door.callsServed) calls"
            return EscapedText.render(door.procedure.utf8) + ": " + calls + (door.isRevoked ? ", revoked" : "")
        }
    }

    /// `1 msg`, `3 msgs`, `? msgs` when unknown.
    static func counted(_ count: Int?, _ noun: String) -> String {
        guard let count else { return "? \(noun)s" }
        return "\(count) \(noun)" + (count == 1 ? "" : "s")
    }
}
