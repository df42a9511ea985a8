import Interprocess
import Logging

/// A swift-log `LogHandler` that writes to syslog through a `SyslogSender`
/// (SPEC P4): the local daemon's socket, or a collector over UDP or TCP.
///
/// ```swift
/// let syslog = SyslogSender(identity: "served", facility: .daemon, destination: .local())
/// LoggingSystem.bootstrap { label in SyslogLogHandler(label: label, sender: syslog) }
/// ```
///
/// Levels map to severities (`severity(for:)`): trace and debug → debug, info →
/// info, notice → notice, warning → warning, error → err, critical → crit.
/// Metadata (the handler's, the provider's, then the message's, later ones
/// winning) goes into one RFC 5424 structured-data element `structuredDataID`,
/// one parameter per key, nested dictionaries flattened to `outer.inner`; an
/// error logged with the message adds `error`. In RFC 3164 the element is
/// written after the text. Thread safety and the fallback when no daemon listens
/// are the sender's.
public struct SyslogLogHandler: LogHandler {
    /// The `Logger`'s label.
    public let label: String
    public let sender: SyslogSender
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// The SD-ID of the metadata element. 32473 is the enterprise number RFC 5612
    /// reserves for examples: use your own registered one in production.
    public var structuredDataID: String

    public init(label: String, sender: SyslogSender, structuredDataID: String = "meta@32473",
                metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.sender = sender
        self.structuredDataID = structuredDataID
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog severity of a swift-log level.
    public static func severity(for level: Logger.Level) -> SyslogSeverity {
        switch level {
        case .trace, .debug: return .debug
        case .info: return .informational
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        var parameters: [SyslogStructuredElement.Parameter] = []
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { Self.flatten(key, value, into: &parameters) }
        if let error = event.error { parameters.append(.init("error", "\(error)")) }
        let data = parameters.isEmpty ? [] : [SyslogStructuredElement(id: structuredDataID, parameters: parameters)]
        sender.log(Self.severity(for: event.level), event.message.description, structuredData: data)
    }

    private static func flatten(_ key: String, _ value: Logger.MetadataValue, into parameters: inout [SyslogStructuredElement.Parameter]) {
        switch value {
        case .string(let text): parameters.append(.init(key, text))
        case .stringConvertible(let item): parameters.append(.init(key, item.description))
        case .array: parameters.append(.init(key, value.description))
        case .dictionary(let entries):
            for (inner, nested) in entries.sorted(by: { $0.key < $1.key }) { flatten(key + "." + inner, nested, into: &parameters) }
        }
    }
}
