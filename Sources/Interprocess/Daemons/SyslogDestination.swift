import SystemPackage

/// Where a `SyslogSender` sends (SPEC P4): the notes name the local socket and UDP
/// port 514; TCP carries the messages with RFC 6587 octet counting.
public enum SyslogDestination: Sendable, Hashable, CustomStringConvertible {
    /// The local syslog daemon's Unix datagram socket (`/dev/log`).
    case local(FilePath = "/dev/log")
    /// A collector over UDP (RFC 5426): one message a datagram.
    case udp(host: String, port: UInt16 = 514)
    /// A collector over TCP (RFC 6587): `LENGTH SP MESSAGE`, octet counting.
    case tcp(host: String, port: UInt16 = 514)

    /// What the destination accepts best: RFC 3164 on the local socket (the format
    /// every local daemon parses: rsyslog's imuxsock takes RFC 5424 only with its
    /// special parser turned off), RFC 5424 to a collector.
    public var defaultFormat: SyslogFormat {
        if case .local = self { return .rfc3164 }
        return .rfc5424
    }

    public var description: String {
        switch self {
        case .local(let path): return "local socket \(path)"
        case .udp(let host, let port): return "udp \(host):\(port)"
        case .tcp(let host, let port): return "tcp \(host):\(port)"
        }
    }
}
