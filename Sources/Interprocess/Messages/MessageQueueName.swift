#if canImport(Glibc)
import Glibc
#endif

/// The name of a POSIX message queue: a slash followed by 1 to `NAME_MAX` (255)
/// bytes, none of them a slash or NUL, and not `.` or `..` (SPEC M1).
///
/// Names are checked before any system call, so a bad name is always `EINVAL` or
/// `ENAMETOOLONG` with a detail that says what is wrong, never whatever the kernel
/// happens to answer (Linux answers `EACCES` for `/a/b`).
public struct MessageQueueName: Hashable, Sendable, CustomStringConvertible {
    /// The name as given, with its leading slash: `/orders`.
    public let string: String

    /// The most bytes a name may have after its leading slash (`NAME_MAX`).
    public static let maximumLength = Int(NAME_MAX)

    /// Validates `string`. Throws `EINVAL` (no leading slash, another slash, a NUL,
    /// nothing after the slash, `.` or `..`) or `ENAMETOOLONG`.
    public init(_ string: String) throws(IPCError) {
        try self.init(string, operation: "mq_open")
    }

    init(_ string: String, operation: String) throws(IPCError) {
        func invalid(_ detail: String) -> IPCError {
            IPCError(.invalidArgument, operation: operation, object: IPCError.describe(path: string), detail: detail)
        }
        let bytes = Array(string.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw invalid("a queue name starts with a slash, e.g. \"/orders\"")
        }
        let rest = bytes.dropFirst()
        if rest.isEmpty { throw invalid("a queue name has at least one character after the slash") }
        if rest.contains(UInt8(ascii: "/")) { throw invalid("a queue name has no slash after the first character") }
        if rest.contains(0) { throw invalid("a queue name cannot contain a NUL byte") }
        if rest.elementsEqual(".".utf8) || rest.elementsEqual("..".utf8) {
            throw invalid("\".\" and \"..\" are not queue names")
        }
        if rest.count > Self.maximumLength {
            throw IPCError(.fileNameTooLong, operation: operation, object: IPCError.describe(path: string),
                           detail: "\(rest.count) bytes after the slash; the limit is NAME_MAX (\(Self.maximumLength))")
        }
        self.string = string
    }

    public var description: String { string }

    /// How errors name the queue: `"/orders"`.
    var quoted: String { IPCError.describe(path: string) }
}
