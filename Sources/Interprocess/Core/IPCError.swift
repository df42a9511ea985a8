import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the library: the `Errno` a system call returned, the
/// operation that failed and the object it was applied to.
///
/// Its description reads like `mkfifo("/tmp/x"): file exists (EEXIST)`, followed by
/// a detail where the library knows more than the errno says.
public struct IPCError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The error number, as the kernel or the library reported it.
    public var errno: Errno
    /// The C function (or library operation) that failed, e.g. `mkfifo`.
    public var operation: String
    /// The object the operation was applied to, already formatted: a quoted path
    /// (`"/tmp/x"`), a descriptor (`fd 5`), a process (`pid 42`), or nil.
    public var object: String?
    /// What the library knows beyond the errno, e.g. the limit that was exceeded.
    public var detail: String?

    public init(_ errno: Errno, operation: String, object: String? = nil, detail: String? = nil) {
        self.errno = errno
        self.operation = operation
        self.object = object
        self.detail = detail
    }

    /// The symbolic name of the errno, e.g. `EEXIST`.
    public var errnoName: String {
        if let name = cipc_errno_name(errno.rawValue) { return String(cString: name) }
        return "errno \(errno.rawValue)"
    }

    public var description: String {
        var text = operation
        text += "(" + (object ?? "") + ")"
        var reason = "error \(errno.rawValue)"
        if let cText = cipc_errno_description(errno.rawValue) {
            let full = String(cString: cText)
            reason = full.prefix(1).lowercased() + full.dropFirst()
        }
        text += ": \(reason) (\(errnoName))"
        if let detail { text += ": \(detail)" }
        return text
    }

    /// True when a non-blocking operation could not proceed (`EAGAIN`/`EWOULDBLOCK`).
    public var isWouldBlock: Bool { errno == .resourceTemporarilyUnavailable }
    /// True when a time-bounded operation ran out of time (`ETIMEDOUT`).
    public var isTimeout: Bool { errno == .timedOut }
}

extension IPCError {
    /// The error of the system call that just failed, as its adapter captured it (`lastErrno`).
    @usableFromInline
    static func last(_ operation: String, object: String? = nil, detail: String? = nil) -> IPCError {
        IPCError(Errno(rawValue: lastErrno), operation: operation, object: object, detail: detail)
    }

    @usableFromInline
    static func last(_ operation: String, fd: CInt, detail: String? = nil) -> IPCError {
        last(operation, object: describe(fd: fd), detail: detail)
    }

    @usableFromInline
    static func last(_ operation: String, path: FilePath, detail: String? = nil) -> IPCError {
        last(operation, object: describe(path: path), detail: detail)
    }

    static func describe(fd: CInt) -> String { "fd \(fd)" }
    static func describe(path: FilePath) -> String { "\"\(path.string)\"" }
    static func describe(path: String) -> String { "\"\(path)\"" }
}
