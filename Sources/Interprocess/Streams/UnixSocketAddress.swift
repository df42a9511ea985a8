import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The address of a Unix domain socket (SPEC S7): a path in the file system, a
/// name in Linux's abstract namespace, or unnamed.
///
/// Addresses are validated when they are made, so `bind` and `connect` never see
/// one the kernel would refuse: a path holds at most `maxPathLength` bytes
/// (`sun_path` is 108 bytes including the terminating NUL), otherwise
/// `ENAMETOOLONG`.
///
/// - A **path** address is a socket file; its permission bits decide who may
///   connect (write permission is needed).
/// - An **abstract** name (Linux only) has no file and no permission bits: any
///   process in the same network namespace may connect. Check
///   `UnixSocket.peerCredentials` when that matters.
/// - **Unnamed** is the address of a socket that was never bound (most clients,
///   both ends of a socket pair). Binding to `.unnamed` asks the kernel for a
///   unique abstract name ("autobind").
public struct UnixSocketAddress: Hashable, Sendable, CustomStringConvertible {
    private enum Storage: Hashable, Sendable {
        case path(FilePath)
        case abstract([UInt8])
        case unnamed
    }

    private let storage: Storage

    private init(_ storage: Storage) { self.storage = storage }

    /// The longest path a socket address can hold, in bytes: 107 on Linux.
    public static let maxPathLength = Int(cipc_sun_path_capacity()) - 1

    /// A socket file at `path`. Throws `ENAMETOOLONG` when the path has more than
    /// `maxPathLength` bytes and `EINVAL` when it is empty.
    public init(path: FilePath) throws(IPCError) {
        try self.init(path: path, operation: "sockaddr_un")
    }

    /// Like `init(path:)`, with the operation the caller will report on failure.
    init(path: FilePath, operation: String) throws(IPCError) {
        let length = path.withPlatformString { strlen($0) }
        if length == 0 {
            throw IPCError(.invalidArgument, operation: operation, object: IPCError.describe(path: path),
                           detail: "a Unix socket path must not be empty")
        }
        if length > Self.maxPathLength {
            throw IPCError(.fileNameTooLong, operation: operation, object: IPCError.describe(path: path),
                           detail: "\(length) bytes; a Unix socket path holds at most \(Self.maxPathLength)")
        }
        storage = .path(path)
    }

    /// A name in the abstract namespace (Linux). Its bytes may be anything,
    /// including NUL; at most `maxPathLength` of them.
    public init(abstractName name: some Collection<UInt8>) throws(IPCError) {
        let bytes = Array(name)
        if bytes.count > Self.maxPathLength {
            throw IPCError(.fileNameTooLong, operation: "sockaddr_un", object: "@" + String(decoding: bytes, as: UTF8.self),
                           detail: "\(bytes.count) bytes; an abstract socket name holds at most \(Self.maxPathLength)")
        }
        storage = .abstract(bytes)
    }

    /// A name in the abstract namespace, from a string's UTF-8 bytes.
    public init(abstractName name: String) throws(IPCError) {
        try self.init(abstractName: Array(name.utf8))
    }

    /// The address of a socket that was never bound.
    public static let unnamed = UnixSocketAddress(.unnamed)

    /// The socket file's path, or nil for an abstract or unnamed address.
    public var path: FilePath? {
        if case .path(let path) = storage { return path }
        return nil
    }

    /// The abstract name's bytes (without the leading NUL), or nil.
    public var abstractName: [UInt8]? {
        if case .abstract(let name) = storage { return name }
        return nil
    }

    public var isUnnamed: Bool { storage == .unnamed }

    /// The path, `@name` for an abstract name, or `(unnamed)`.
    public var description: String {
        switch storage {
        case .path(let path): return path.string
        case .abstract(let name): return "@" + String(decoding: name, as: UTF8.self)
        case .unnamed: return "(unnamed)"
        }
    }

    /// How errors name this address: a quoted path, `@name`, or `(unnamed)`.
    var errorDescription: String {
        if case .path(let path) = storage { return IPCError.describe(path: path) }
        return description
    }

    // MARK: sockaddr_un

    static let pathOffset = Int(cipc_sun_path_offset())

    /// Calls `body` with this address as a `sockaddr_un` and its length.
    func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var length = Self.pathOffset
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            switch storage {
            case .path(let path):
                path.withPlatformString { text in
                    let count = strlen(text)
                    sunPath.copyMemory(from: UnsafeRawBufferPointer(start: text, count: count))
                    length += count + 1
                }
            case .abstract(let name):
                sunPath[0] = 0
                UnsafeMutableRawBufferPointer(rebasing: sunPath[1...]).copyBytes(from: name)
                length += 1 + name.count
            case .unnamed:
                break
            }
        }
        return try withUnsafePointer(to: &address) { (pointer) throws(E) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(E) -> R in
                try body(raw, socklen_t(length))
            }
        }
    }

    /// Decodes an address the kernel filled in (`getsockname`, `recvfrom`…).
    init(storage address: borrowing sockaddr_un, length: socklen_t) {
        let count = Int(length) - Self.pathOffset
        guard count > 0 else { self.init(.unnamed); return }
        let decoded = withUnsafeBytes(of: address.sun_path) { sunPath -> Storage in
            let bytes = UnsafeRawBufferPointer(rebasing: sunPath.prefix(count))
            if bytes[0] == 0 { return .abstract(Array(bytes.dropFirst())) }
            // A path: up to the first NUL (the kernel may or may not count it).
            var text = Array(bytes.prefix { $0 != 0 }).map { CChar(bitPattern: $0) }
            text.append(0)
            return .path(text.withUnsafeBufferPointer { FilePath(platformString: $0.baseAddress!) })
        }
        self.init(decoded)
    }

    /// Calls `body` with room for an address the kernel fills in, then decodes it.
    static func receiving(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt) -> (CInt, UnixSocketAddress) {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &length) }
        }
        return (result, UnixSocketAddress(storage: address, length: length))
    }
}
