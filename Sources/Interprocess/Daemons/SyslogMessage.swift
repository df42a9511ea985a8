#if canImport(Glibc)
import Glibc
#endif

/// One element of RFC 5424 structured data: `[ID NAME="VALUE" …]`.
public struct SyslogStructuredElement: Sendable, Hashable {
    /// The SD-ID: a registered name (`origin`, `meta`) or `NAME@ENTERPRISE-NUMBER`.
    public var id: String
    /// The parameters, in order.
    public var parameters: [Parameter]

    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(id: String, parameters: [Parameter]) {
        self.id = id
        self.parameters = parameters
    }

    /// The element as RFC 5424 writes it: names cut to the SD-NAME rules (printable
    /// ASCII without `=`, space, `]` and `"`, at most 32 characters), values with
    /// `"`, `\` and `]` escaped.
    public var rendered: String {
        var text = "[" + SyslogMessage.field(id, limit: 32, removing: "= ]\"")
        for parameter in parameters {
            text += " " + SyslogMessage.field(parameter.name, limit: 32, removing: "= ]\"") + "=\""
            for character in parameter.value {
                if character == "\"" || character == "\\" || character == "]" { text.append("\\") }
                text.append(character)
            }
            text += "\""
        }
        return text + "]"
    }
}

/// The wire format of a syslog message.
public enum SyslogFormat: Sendable, Hashable {
    /// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`, with structured data.
    case rfc5424
    /// RFC 3164, the BSD format `syslog(3)` writes: `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`
    /// (without HOST on the local socket); structured data goes at the end of MSG.
    case rfc3164
}

/// A syslog message: priority, header and text (SPEC P4).
public struct SyslogMessage: Sendable {
    public var facility: SyslogFacility
    public var severity: SyslogSeverity
    /// Seconds and nanoseconds since the epoch (`CLOCK_REALTIME`).
    public var time: (seconds: Int, nanoseconds: Int)
    public var hostname: String?
    /// The identity (`openlog`'s ident): APP-NAME, or the TAG of RFC 3164.
    public var appName: String?
    public var processID: pid_t?
    public var messageID: String?
    public var structuredData: [SyslogStructuredElement]
    public var text: String

    public init(facility: SyslogFacility, severity: SyslogSeverity, appName: String?, processID: pid_t? = nil,
                hostname: String? = nil, messageID: String? = nil, structuredData: [SyslogStructuredElement] = [],
                text: String) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        self.facility = facility
        self.severity = severity
        self.time = (now.tv_sec, now.tv_nsec)
        self.hostname = hostname
        self.appName = appName
        self.processID = processID
        self.messageID = messageID
        self.structuredData = structuredData
        self.text = text
    }

    /// PRI: facility × 8 + severity.
    public var priority: Int32 { facility.rawValue * 8 + severity.rawValue }

    /// The message in `format`; `withHostname: false` leaves the hostname out of
    /// RFC 3164, as `syslog(3)` does on the local socket (the daemon adds its own).
    public func encoded(_ format: SyslogFormat, withHostname: Bool = true) -> [UInt8] {
        switch format {
        case .rfc5424: return Array(rfc5424.utf8)
        case .rfc3164: return Array(rfc3164(withHostname: withHostname).utf8)
        }
    }

    /// RFC 5424 §6; a nil field is `-`.
    public var rfc5424: String {
        func header(_ value: String?, _ limit: Int) -> String {
            guard let value, !value.isEmpty else { return "-" }
            return Self.field(value, limit: limit, removing: " ")
        }
        let data = structuredData.isEmpty ? "-" : structuredData.map(\.rendered).joined()
        return "<\(priority)>1 \(timestamp3339) \(header(hostname, 255)) \(header(appName, 48)) "
            + "\(header(processID.map(String.init), 128)) \(header(messageID, 32)) \(data)"
            + (text.isEmpty ? "" : " " + text)
    }

    /// RFC 3164 §4.1, as `syslog(3)` writes it.
    public func rfc3164(withHostname: Bool) -> String {
        var tag = Self.field(appName ?? "-", limit: 32, removing: " :[")
        if let processID { tag += "[\(processID)]" }
        let host = withHostname ? (hostname.map { Self.field($0, limit: 255, removing: " ") } ?? "-") + " " : ""
        let data = structuredData.map(\.rendered).joined()
        let body = data.isEmpty ? text : text.isEmpty ? data : text + " " + data
        return "<\(priority)>\(timestamp3164) \(host)\(tag): \(body)"
    }

    /// `2026-12-03T06:17:03.123456Z` (RFC 3339, UTC, microseconds).
    var timestamp3339: String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(time.nanoseconds / 1000), 6))Z"
    }

    /// `Dec  3 06:17:03` in local time.
    var timestamp3164: String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = parts.tm_mday < 10 ? " \(parts.tm_mday)" : "\(parts.tm_mday)"
        return "\(months[Int(parts.tm_mon)]) \(day) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// A header field: printable ASCII (RFC 5424 PRINTUSASCII) without `removing`,
    /// each other character replaced by `_`, cut to `limit`.
    static func field(_ text: String, limit: Int, removing: String) -> String {
        let forbidden = Set(removing.unicodeScalars)
        let scalars = text.unicodeScalars.prefix(limit).map { scalar -> Character in
            (33...126).contains(scalar.value) && !forbidden.contains(scalar) ? Character(scalar) : "_"
        }
        return String(scalars)
    }
}
