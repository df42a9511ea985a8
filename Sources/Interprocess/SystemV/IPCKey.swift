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

    /// Reads a key as written on a command line: decimal (`4660`, or negative as a C
    /// `key_t`: `-1`), hex (`0x1234`, as `ipcs` prints keys) or `private` for
    /// `IPC_PRIVATE`. Throws `EINVAL` for anything else, and for two spellings that
    /// would surprise: `0` (which is `IPC_PRIVATE`: a new object every time, not a
    /// key to meet at — write `private`), and a decimal number with a leading zero
    /// such as `012` (octal to C's `strtol`, decimal to Swift: write `12` or `0xa`).
    public init(parsing text: String) throws(IPCError) {
        func refuse(_ detail: String) -> IPCError {
            IPCError(.invalidArgument, operation: "parse key", object: "\"\(text)\"", detail: detail)
        }
        let lowered = text.lowercased()
        if lowered == "private" || lowered == "ipc_private" {
            self = .private
            return
        }
        let value: Int64?
        if lowered.hasPrefix("0x") {
            value = UInt32(lowered.dropFirst(2), radix: 16).map { Int64($0) }
        } else {
            let digits = lowered.hasPrefix("-") ? lowered.dropFirst() : Substring(lowered)
            if digits.count > 1, digits.first == "0", digits.allSatisfy(\.isNumber) {
                throw refuse("a leading 0 is ambiguous (C reads \(text) as octal): write the key in decimal without it, or in hex (0x…)")
            }
            value = Int64(lowered).flatMap { (-0x8000_0000...0xffff_ffff).contains($0) ? $0 : nil }
        }
        guard let value else {
            throw refuse("a key is decimal (-2147483648 to 4294967295), 0x-prefixed hex up to 0xffffffff, or \"private\"")
        }
        if value == 0 {
            throw refuse("key 0 is IPC_PRIVATE, which makes a new object every time: write \"private\" if that is what you mean")
        }
        self.rawValue = key_t(truncatingIfNeeded: value)
    }

    /// As `ipcs` prints it: `0x00001234`.
    public var description: String {
        let hex = String(UInt32(bitPattern: rawValue), radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }
}
