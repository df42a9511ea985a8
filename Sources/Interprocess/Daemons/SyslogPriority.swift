/// Where a syslog message comes from (RFC 5424 §6.2.1, `LOG_USER`…`LOG_LOCAL7`;
/// SPEC P4). The raw value is the facility number.
public enum SyslogFacility: Int32, Sendable, CaseIterable {
    case kernel = 0, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp
    case ntp, security, console, clock
    case local0, local1, local2, local3, local4, local5, local6, local7

    /// The name syslog configurations use (`daemon`, `local3`, …).
    public var name: String {
        switch self {
        case .kernel: return "kern"
        case .security: return "audit"
        case .console: return "alert"
        case .clock: return "clock"
        default: return String(describing: self)
        }
    }
}

/// How serious a syslog message is (`LOG_EMERG`…`LOG_DEBUG`). The raw value is the
/// severity number: lower is more severe.
public enum SyslogSeverity: Int32, Sendable, CaseIterable, Comparable {
    case emergency = 0, alert, critical, error, warning, notice, informational, debug

    /// The name syslog configurations use (`emerg`, `err`, `info`, …).
    public var name: String {
        ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"][Int(rawValue)]
    }

    public static func < (a: SyslogSeverity, b: SyslogSeverity) -> Bool { a.rawValue < b.rawValue }
}
