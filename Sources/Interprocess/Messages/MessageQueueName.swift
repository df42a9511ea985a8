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
        try PosixIPCName.validate(string, maximumLength: Self.maximumLength, operation: operation,
                                  noun: "queue name", example: "/orders")
        self.string = string
    }

    public var description: String { string }

    /// How errors name the queue: `"/orders"`.
    var quoted: String { IPCError.describe(path: string) }
}
