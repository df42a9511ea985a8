#if canImport(Glibc)
import Glibc
#endif

/// The name of a POSIX IPC object — a message queue (SPEC M1), a shared memory
/// object (SPEC H3) or a named semaphore (SPEC Y1): exactly the bytes the system
/// calls get, whatever they are.
///
/// Names are bytes, not text: another program may make `/\xff\xfe`, and the library
/// opens, shows and removes it as it is, never a re-decoded look-alike. Shown to
/// people (`description`, errors) a name is escaped by `EscapedText`.
///
/// Making a name checks nothing; each kind validates it before its system call
/// (`validate(for:)`), so a bad name is `EINVAL` or `ENAMETOOLONG` with a detail
/// that says what is wrong, never whatever the kernel happens to answer (Linux
/// answers `EACCES` for the queue `/a/b`). A valid name is one slash followed by 1
/// to `Kind.maximumLength` bytes with no slash and no NUL, other than `.` and `..`.
public struct PosixIPCName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The exact bytes of the name, with its leading slash and without a NUL.
    public let bytes: [UInt8]

    /// The name with these exact bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The name whose bytes are the UTF-8 of `string`.
    public init(_ string: String) { bytes = Array(string.utf8) }

    public init(stringLiteral string: String) { self.init(string) }

    /// The name escaped as `EscapedText` does: `/orders`, `/\xff\xfe`.
    public var description: String { EscapedText.render(bytes) }

    /// The name as text when its bytes are valid UTF-8, else nil.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// How errors name the object: `"/orders"`, `"/\xff"`.
    var quoted: String { "\"" + description + "\"" }

    /// The kinds of POSIX IPC object, which differ in how long a name may be.
    public enum Kind: Sendable {
        case messageQueue
        case sharedMemory
        case semaphore

        /// The most bytes after the slash: `NAME_MAX` (255) for a queue; for
        /// shared memory glibc rejects NAME_MAX - 1 bytes and more; a semaphore
        /// is the file `sem.NAME`, which must fit NAME_MAX.
        public var maximumLength: Int {
            switch self {
            case .messageQueue: Int(NAME_MAX)
            case .sharedMemory: Int(NAME_MAX) - 2
            case .semaphore: Int(NAME_MAX) - 4
            }
        }

        /// How the name is called in errors.
        var noun: String {
            switch self {
            case .messageQueue: "queue name"
            case .sharedMemory, .semaphore: "POSIX IPC name"
            }
        }

        var example: String {
            switch self {
            case .messageQueue: "/orders"
            case .sharedMemory, .semaphore: "/name"
            }
        }

        /// The C function that opens an object of this kind.
        var openOperation: String {
            switch self {
            case .messageQueue: "mq_open"
            case .sharedMemory: "shm_open"
            case .semaphore: "sem_open"
            }
        }
    }

    /// The longest shared memory name (after the slash).
    static let sharedMemoryMaximum = Kind.sharedMemory.maximumLength
    /// The longest semaphore name (after the slash).
    static let semaphoreMaximum = Kind.semaphore.maximumLength

    /// Throws what `kind`'s open call would be refused for: `EINVAL` for a
    /// malformed name, `ENAMETOOLONG` for a long one.
    public func validate(for kind: Kind) throws(IPCError) {
        try validate(for: kind, operation: kind.openOperation)
    }

    /// Checks the name before any system call: one leading slash, something after
    /// it, no other slash, no NUL, not "." or "..", at most `kind.maximumLength`
    /// bytes after the slash. Errors are errors of `operation`.
    func validate(for kind: Kind, operation: String) throws(IPCError) {
        func invalid(_ why: String) -> IPCError {
            IPCError(.invalidArgument, operation: operation, object: quoted, detail: why)
        }
        let noun = kind.noun
        guard bytes.first == UInt8(ascii: "/") else {
            throw invalid("a \(noun) starts with a slash, e.g. \"\(kind.example)\"")
        }
        let rest = bytes.dropFirst()
        if rest.isEmpty { throw invalid("a \(noun) has at least one character after the slash") }
        if rest.contains(UInt8(ascii: "/")) { throw invalid("a \(noun) has no slash after the first character") }
        if rest.contains(0) { throw invalid("a \(noun) cannot contain a NUL byte") }
        if rest.elementsEqual(".".utf8) || rest.elementsEqual("..".utf8) {
            throw invalid("\".\" and \"..\" are not \(noun)s")
        }
        if rest.count > kind.maximumLength {
            throw IPCError(.fileNameTooLong, operation: operation, object: quoted,
                           detail: "\(rest.count) bytes after the slash; the limit is \(kind.maximumLength)")
        }
    }

    /// Lends `body` the name as a NUL-terminated C string of its exact bytes.
    /// Call it only on a validated name (no NUL inside).
    func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        let terminated = bytes + [0]
        return terminated.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// The name of the file glibc keeps the object in, inside /dev/shm: the name
    /// without its slash, with `prefix` (`sem.` for semaphores).
    func fileName(prefix: String = "") -> [UInt8] { Array(prefix.utf8) + bytes.dropFirst() }
}
