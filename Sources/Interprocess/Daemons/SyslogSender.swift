import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Sends messages to a syslog daemon or collector, as `openlog` and `syslog` do,
/// from any number of threads (SPEC P4).
///
/// ```swift
/// let syslog = SyslogSender(identity: "served", facility: .daemon)        // /dev/log
/// syslog.log(.notice, "listening", structuredData: [.init(id: "net@32473", parameters: [.init("port", "8080")])])
/// let remote = SyslogSender(identity: "served", destination: .tcp(host: "logs.example", port: 514))
/// ```
///
/// The connection is made at the first message (or at once with `.connectNow`)
/// and made again after the daemon went away (a failed send is retried once on a
/// new connection). `log` never throws: a message that cannot be sent goes to the
/// `fallback` — standard error by default, one line `IDENT[PID]: SEVERITY: TEXT`
/// — so a program without a syslog daemon (a container without `/dev/log`) still
/// shows its messages. `send` throws instead, for a caller that wants to know.
///
/// One lock serialises the sends: messages from several threads never interleave
/// on a TCP stream, and arrive in the order they were sent.
public final class SyslogSender: Sendable {
    /// `openlog`'s options that apply here.
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `LOG_PID`: the process id in every message.
        public static let pid = Options(rawValue: 1)
        /// `LOG_PERROR`: every message also on standard error.
        public static let standardError = Options(rawValue: 2)
        /// `LOG_NDELAY`: connect when the sender is made, not at the first message.
        public static let connectNow = Options(rawValue: 4)
    }

    /// Where a message goes when it cannot be sent.
    public enum Fallback: Sendable, Hashable {
        /// One line on standard error (like `LOG_CONS`, which writes to the console).
        case standardError
        /// Nowhere.
        case discard
    }

    /// The identity (`openlog`'s ident): APP-NAME in RFC 5424, the tag in RFC 3164.
    public let identity: String
    public let facility: SyslogFacility
    public let options: Options
    public let destination: SyslogDestination
    public let format: SyslogFormat
    public let fallback: Fallback
    /// How long a send (or a connect) may wait for the daemon (a full socket queue,
    /// a stuck collector) before the message goes to the fallback.
    public let sendTimeout: Duration
    /// This host's name, as RFC 5424 and remote RFC 3164 messages carry it.
    public let hostname: String
    private let connection = Mutex<(any SyslogConnection)?>(nil)

    /// - Parameters:
    ///   - identity: the program's name when nil (argv[0] without its directory).
    ///   - format: the destination's `defaultFormat` when nil.
    public init(identity: String? = nil, facility: SyslogFacility = .user, options: Options = [.pid],
                destination: SyslogDestination = .local(), format: SyslogFormat? = nil,
                fallback: Fallback = .standardError, sendTimeout: Duration = .seconds(5)) {
        self.identity = identity ?? CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "swift"
        self.facility = facility
        self.options = options
        self.destination = destination
        self.format = format ?? destination.defaultFormat
        self.fallback = fallback
        self.sendTimeout = sendTimeout
        var name = [CChar](repeating: 0, count: 256)
        hostname = system_gethostname(&name, name.count - 1) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        if options.contains(.connectNow) {
            connection.withSanitizedLock { $0 = try? connectSyslog(destination, timeout: sendTimeout) }
        }
    }

    /// A message from this sender: its facility (unless given), identity, pid
    /// (with `.pid`) and hostname.
    public func message(_ severity: SyslogSeverity, _ text: String, structuredData: [SyslogStructuredElement] = [],
                        facility: SyslogFacility? = nil, messageID: String? = nil) -> SyslogMessage {
        SyslogMessage(facility: facility ?? self.facility, severity: severity, appName: identity,
                      processID: options.contains(.pid) ? getpid() : nil, hostname: hostname, messageID: messageID,
                      structuredData: structuredData, text: text)
    }

    /// Sends a message, or writes it to the fallback when it cannot be sent. Also
    /// to standard error with `.standardError`.
    public func log(_ severity: SyslogSeverity, _ text: String, structuredData: [SyslogStructuredElement] = [],
                    facility: SyslogFacility? = nil, messageID: String? = nil) {
        let message = message(severity, text, structuredData: structuredData, facility: facility, messageID: messageID)
        var sent = true
        do throws(IPCError) { try send(message) } catch { sent = false }
        if options.contains(.standardError) || (!sent && fallback == .standardError) { writeToStandardError(message) }
    }

    /// Sends `message` in this sender's format, connecting first when needed and
    /// once again when the send fails (the daemon restarted, the collector closed
    /// the connection). Throws the error of the last attempt: `ENOENT` or
    /// `ECONNREFUSED` with no daemon at the local socket, `ETIMEDOUT` when the send
    /// waited `sendTimeout`.
    ///
    /// The corresponding C calls are `socket`, `connect` (`getaddrinfo` first for
    /// UDP and TCP) and `send`.
    public func send(_ message: SyslogMessage) throws(IPCError) {
        let local: Bool
        if case .local = destination { local = true } else { local = false }
        let bytes = message.encoded(format, withHostname: !local)
        let result: Result<Void, IPCError> = connection.withSanitizedLock { connection in
            for attempt in 0..<2 {
                do throws(IPCError) {
                    if connection == nil { connection = try connectSyslog(destination, timeout: sendTimeout) }
                    try connection!.send(bytes, until: .after(sendTimeout))
                    return .success(())
                } catch {
                    connection = nil
                    if attempt == 1 || error.isTimeout { return .failure(error) }
                }
            }
            return .success(())
        }
        try result.get()
    }

    /// `IDENT[PID]: SEVERITY: TEXT [SD]`, one write.
    private func writeToStandardError(_ message: SyslogMessage) {
        var line = identity + (message.processID.map { "[\($0)]" } ?? "") + ": " + message.severity.name + ": " + message.text
        let data = message.structuredData.map(\.rendered).joined()
        if !data.isEmpty { line += " " + data }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { system_write(2, $0.baseAddress, $0.count) }
    }
}
