import Interprocess
import SystemPackage

/// `ipc ls --json`: one object with named arrays, the shape `ipc limits` and
/// `ipc bench` share (an object whose arrays are named):
///
///     {"objects": [OBJECT…], "skipped": [SKIPPED…], "unavailable": [UNAVAILABLE…]}
///
/// OBJECT: `{"kind":"shm","key":"0x00001234","name":null,"nameHex":null,"id":32768,
/// "ownerUID":0,"owner":"root","groupGID":0,"creatorUID":0,"creatorGID":0,
/// "mode":"0600","bytes":4096,"count":null,"users":1,"creatorPID":42,"lastPID":42,
/// "holderPID":null,"changed":1700000000,"lastUsed":1700000000,
/// "markedForRemoval":false,"malformed":null,"lock":null,"placed":null,"channel":null,"door":null}`. Sizes are bytes.
/// `name` is a POSIX name or a locked file's path: its exact text when its bytes
/// are UTF-8 (JSON escapes control characters exactly), otherwise as the table
/// shows it (`\xHH` for bytes that are not UTF-8, `\\` for a backslash);
/// `nameHex` is always its exact bytes in lowercase hex. `malformed` is why the
/// object is not what its kind should be (a `sem.NAME` file that is not a
/// semaphore), else null. For a lock, `"lock":{"style":"POSIX","access":"WRITE",
/// "mode":"ADVISORY","device":"00:1f","inode":123,"start":0,"end":null,"waiting":false}`
/// (`end` null means to the end of the file). For POSIX shared memory that
/// starts with a placement header (`PlacedMapping`), `"placed":{"type":"orders.ring",
/// "typeHex":"…","version":1,"state":"ready","initialiserPID":null}` (`state`
/// "initialising" with the pid of the process doing it — or that died doing it).
/// For a `SharedMemoryChannel`, `"channel":{"capacity":65536,"maximumMessageSize":1000,
/// "whenFull":"block","receiver":{"state":"attached","pid":12},"producers":[{"end":
/// {"state":"none","pid":null},"queuedBytes":0,"dropped":0}],"queuedBytes":0,
/// "fillLevel":0}` (an end's `state` is none, attached, closed or gone), else null.
/// For a door, `"door":{"pid":4242,"id":1,"procedure":"echo","clients":1,"calls":12,
/// "revoked":false}` ("name" is its path, null when it is attached to none), else null.
///
/// SKIPPED, a file where objects live that is none (never opened):
/// `{"kind":"pshm","path":"/dev/shm/fifo1","pathHex":"2f6465…","ownerUID":0,
/// "reason":"a FIFO, not a regular file"}`.
///
/// UNAVAILABLE, a kind that could not be listed (the listing is incomplete and
/// `ipc ls` exits with status 1): `{"kind":"mq","reason":"…"}`.
enum ListJSON {
    static func document(_ inventory: IPCInventory) -> JSONValue {
        .object([
            ("objects", .array(inventory.entries.map(object))),
            ("skipped", .array(inventory.skipped.map(skipped))),
            ("unavailable", .array(IPCInventory.Kind.allCases.compactMap { kind in
                inventory.unavailable[kind].map { .object([("kind", .string(kind.rawValue)), ("reason", .string($0))]) }
            })),
        ])
    }

    static func object(_ entry: IPCInventory.Entry) -> JSONValue {
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
        var placement = JSONValue.null
        if let placed = entry.placement {
            var state = JSONValue.string("ready"), initialiser = JSONValue.null
            if case .initialising(let pid) = placed.state {
                state = .string("initialising")
                initialiser = .integer(Int64(pid))
            }
            placement = .object([
                ("type", .string(text(placed.type))),
                ("typeHex", .string(hex(placed.type))),
                ("version", .integer(Int64(placed.version))),
                ("state", state),
                ("initialiserPID", initialiser),
            ])
        }
        let channel = entry.channel.map(Self.channel) ?? .null
        let door = entry.door.map(Self.door) ?? .null
        let nameBytes = entry.name?.bytes ?? entry.path
        return .object([
            ("kind", .string(entry.kind.rawValue)),
            ("key", string(entry.key?.description)),
            ("name", string(nameBytes.map(text))),
            ("nameHex", string(nameBytes.map(hex))),
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
            ("malformed", string(entry.malformation)),
            ("lock", lock),
            ("placed", placement),
            ("channel", channel),
            ("door", door),
        ])
    }

    /// A channel's status (`ipc ls --json`'s "channel", `ipc channel stat --json`).
    static func channel(_ status: SharedMemoryChannel.Status) -> JSONValue {
        func end(_ end: SharedMemoryChannel.Status.End) -> JSONValue {
            switch end {
            case .none: .object([("state", .string("none")), ("pid", .null)])
            case .attached(let pid): .object([("state", .string("attached")), ("pid", .integer(Int64(pid)))])
            case .closed(let pid): .object([("state", .string("closed")), ("pid", .integer(Int64(pid)))])
            case .gone(let pid): .object([("state", .string("gone")), ("pid", .integer(Int64(pid)))])
            }
        }
        return .object([
            ("capacity", .integer(Int64(status.capacity))),
            ("maximumMessageSize", .integer(Int64(status.maximumMessageSize))),
            ("whenFull", .string(status.whenFull.description)),
            ("receiver", end(status.receiver)),
            ("producers", .array(status.producers.map { producer in
                .object([("end", end(producer.end)), ("queuedBytes", .integer(Int64(producer.queuedBytes))),
                         ("dropped", .unsigned(producer.dropped))])
            })),
            ("queuedBytes", .integer(Int64(status.queuedBytes))),
            ("fillLevel", .number(status.fillLevel)),
        ])
    }

    /// A door as the inventory found it (`ipc ls --json`'s "door").
    static func door(_ door: DoorListing) -> JSONValue {
        .object([
            ("pid", .integer(Int64(door.serverPid))),
            ("id", .unsigned(door.identifier)),
            ("procedure", .string(door.procedure)),
            ("clients", .integer(Int64(door.clients))),
            ("calls", .unsigned(door.callsServed)),
            ("revoked", .bool(door.isRevoked)),
        ])
    }

    static func skipped(_ file: IPCInventory.Skipped) -> JSONValue {
        .object([
            ("kind", .string(file.kind.rawValue)),
            ("path", .string(text(file.path))),
            ("pathHex", .string(hex(file.path))),
            ("ownerUID", .integer(Int64(file.ownerUID))),
            ("reason", .string(file.reason)),
        ])
    }

    /// The bytes as a JSON string: exact when they are UTF-8, else escaped as
    /// the table shows them.
    static func text(_ bytes: [UInt8]) -> String {
        String(validating: bytes, as: UTF8.self) ?? EscapedText.render(bytes)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = ""
        for byte in bytes {
            text.unicodeScalars.append(digits[Int(byte >> 4)])
            text.unicodeScalars.append(digits[Int(byte & 0xf)])
        }
        return text
    }

    static func octal(_ bits: CModeT) -> String {
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func hex2(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
