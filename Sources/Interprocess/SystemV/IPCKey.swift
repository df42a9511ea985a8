import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The key that names a System V message queue, semaphore set or shared memory
/// segment (SPEC V1).
///
/// Processes that agree on a key reach the same object: a literal key
/// (`IPCKey(0x1234)`), one derived from a path both know with `ftok`
/// (`IPCKey(path: "/etc/myapp", projectID: 1)`), or `.private`, which always
/// creates a new object only this process (and its children, which are told the
/// identifier) can find.
///
/// ```swift
/// let key = try IPCKey(path: "/var/run/myapp", projectID: 7)
/// let queue = try SystemVMessageQueue.openOrCreate(key: key)
/// ```
public struct IPCKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let rawValue: key_t

    public init(rawValue: key_t) { self.rawValue = rawValue }

    /// A literal key. Zero is `.private`.
    public init(_ value: key_t) { self.rawValue = value }

    public init(integerLiteral value: key_t) { self.rawValue = value }

    /// `IPC_PRIVATE`: every `get` with this key creates a new object.
    public static let `private` = IPCKey(rawValue: 0)

    public var isPrivate: Bool { rawValue == 0 }

    /// The key `ftok` derives from an existing file and the low 8 bits of
    /// `projectID`: the file's inode number and device, so the key changes if the
    /// file is deleted and created again. Fails with `ENOENT` if there is no such
    /// file and `EINVAL` if the low 8 bits of `projectID` are zero (ftok would
    /// then give keys that other projects' ids can collide with).
    ///
    /// The corresponding C function is `ftok`.
    public init(path: FilePath, projectID: Int) throws(IPCError) {
        let object = IPCError.describe(path: path)
        guard projectID & 0xff != 0 else {
            throw IPCError(.invalidArgument, operation: "ftok", object: object,
                           detail: "the project id's low 8 bits are used and must not be zero (got \(projectID))")
        }
        let key = path.withPlatformString { system_ftok($0, CInt(truncatingIfNeeded: projectID)) }
        if key == -1 { throw IPCError.last("ftok", object: object) }
        self.rawValue = key
    }

    /// Reads a key as written on a command line: decimal (`4660`), hex (`0x1234`,
    /// as `ipcs` prints keys) or `private`. Throws `EINVAL` otherwise.
    public init(parsing text: String) throws(IPCError) {
        let trimmed = text.lowercased()
        if trimmed == "private" || trimmed == "ipc_private" {
            self = .private
            return
        }
        let value: key_t?
        if trimmed.hasPrefix("0x") {
            value = UInt32(trimmed.dropFirst(2), radix: 16).map { key_t(bitPattern: $0) }
        } else {
            value = key_t(trimmed)
        }
        guard let value else {
            throw IPCError(.invalidArgument, operation: "parse key", object: "\"\(text)\"",
                           detail: "a key is decimal, 0x-prefixed hex up to 0xffffffff, or \"private\"")
        }
        self.rawValue = value
    }

    /// As `ipcs` prints it: `0x00001234`.
    public var description: String {
        let hex = String(UInt32(bitPattern: rawValue), radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }
}
