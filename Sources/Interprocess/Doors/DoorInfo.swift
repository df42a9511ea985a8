#if canImport(Glibc)
import Glibc
#endif

/// What a door says about itself (SPEC R5, Solaris `door_info`): its server, its
/// procedure's name and cookie, its attributes, whether it was revoked, and how
/// busy it is.
public struct DoorInfo: Hashable, Sendable, CustomStringConvertible {
    /// The server process.
    public var serverPid: pid_t
    /// The procedure's name, given at creation (Solaris gives its address).
    public var procedure: String
    /// The door's cookie.
    public var cookie: UInt64
    /// A number unique to this door among the server's doors (`di_uniquifier`).
    public var identifier: UInt64
    /// The path it is attached to, if any.
    public var path: String?
    /// Revoked: every call fails with `EBADF` (`DOOR_REVOKED`).
    public var isRevoked: Bool
    /// Whether the server asked to be told when the last client goes (`DOOR_UNREF_MULTI`).
    public var notifiesUnreferenced: Bool
    /// Whether an access policy beyond the path's permissions applies.
    public var isRestricted: Bool
    /// The largest arguments or result, in bytes.
    public var maximumMessageSize: Int
    /// The most clients served at once.
    public var maximumClients: Int
    /// Clients connected now.
    public var clients: Int
    /// Calls completed so far.
    public var callsServed: UInt64

    public var description: String {
        var attributes: [String] = []
        if notifiesUnreferenced { attributes.append("unref") }
        if isRestricted { attributes.append("restricted") }
        if isRevoked { attributes.append("revoked") }
        return "door \(procedure) (id \(identifier)) of pid \(serverPid)" + (path.map { " at \($0)" } ?? "")
            + (attributes.isEmpty ? "" : " [\(attributes.joined(separator: ","))]")
            + ": \(clients) client(s), \(callsServed) call(s) served, messages up to \(maximumMessageSize) bytes"
    }

    /// The text form on the wire: one `key=value` line each.
    var encoded: [UInt8] {
        let lines = [
            "pid=\(serverPid)", "procedure=\(procedure)", "cookie=\(cookie)", "id=\(identifier)", "path=\(path ?? "")",
            "revoked=\(isRevoked ? 1 : 0)", "unref=\(notifiesUnreferenced ? 1 : 0)", "restricted=\(isRestricted ? 1 : 0)",
            "maximum=\(maximumMessageSize)", "clients-maximum=\(maximumClients)", "clients=\(clients)", "calls=\(callsServed)",
        ]
        return Array(lines.joined(separator: "\n").utf8)
    }

    /// Parses the text form; nil when a field is missing or malformed.
    init?(decoding bytes: ArraySlice<UInt8>) {
        var fields: [Substring: Substring] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { return nil }
            fields[line[..<equals]] = line[line.index(after: equals)...]
        }
        func number<T: FixedWidthInteger>(_ key: Substring, _ type: T.Type) -> T? { fields[key].flatMap { T(String($0)) } }
        guard let pid = number("pid", pid_t.self), let procedure = fields["procedure"], let cookie = number("cookie", UInt64.self),
              let identifier = number("id", UInt64.self), let path = fields["path"], let revoked = number("revoked", Int.self),
              let unref = number("unref", Int.self), let restricted = number("restricted", Int.self),
              let maximum = number("maximum", Int.self), let maximumClients = number("clients-maximum", Int.self),
              let clients = number("clients", Int.self), let calls = number("calls", UInt64.self) else { return nil }
        self.init(serverPid: pid, procedure: String(procedure), cookie: cookie, identifier: identifier,
                  path: path.isEmpty ? nil : String(path), isRevoked: revoked != 0, notifiesUnreferenced: unref != 0,
                  isRestricted: restricted != 0, maximumMessageSize: maximum, maximumClients: maximumClients,
                  clients: clients, callsServed: calls)
    }

    init(serverPid: pid_t, procedure: String, cookie: UInt64, identifier: UInt64, path: String?, isRevoked: Bool,
         notifiesUnreferenced: Bool, isRestricted: Bool, maximumMessageSize: Int, maximumClients: Int, clients: Int, callsServed: UInt64) {
        self.serverPid = serverPid
        self.procedure = procedure
        self.cookie = cookie
        self.identifier = identifier
        self.path = path
        self.isRevoked = isRevoked
        self.notifiesUnreferenced = notifiesUnreferenced
        self.isRestricted = isRestricted
        self.maximumMessageSize = maximumMessageSize
        self.maximumClients = maximumClients
        self.clients = clients
        self.callsServed = callsServed
    }
}

/// How a door serves (SPEC R1, R4, R6).
public struct DoorOptions: Sendable {
    /// The largest arguments and result, in bytes (each client's two channels are
    /// sized for it). Default 64 KiB; at most 16 MiB.
    public var maximumMessageSize: Int
    /// The most clients served at once, each on its own library thread; one more
    /// gets `EAGAIN` when it opens. Default 256.
    public var maximumClients: Int
    /// Who may call, beyond the path's permissions. Default: anyone.
    public var access: DoorAccessPolicy
    /// Called (on a library thread) each time the last client goes (Solaris
    /// `DOOR_UNREF_MULTI`).
    public var unreferenced: (@Sendable () -> Void)?
    /// How long a result may wait for a client that does not read its replies (or
    /// its descriptors) before the server drops that client. Default 5 s.
    public var replyTimeout: Duration

    public init(maximumMessageSize: Int = 64 << 10, maximumClients: Int = 256, access: DoorAccessPolicy = .anyone,
                unreferenced: (@Sendable () -> Void)? = nil, replyTimeout: Duration = .seconds(5)) {
        self.maximumMessageSize = maximumMessageSize
        self.maximumClients = maximumClients
        self.access = access
        self.unreferenced = unreferenced
        self.replyTimeout = replyTimeout
    }
}
