#if canImport(Glibc)
import Glibc
#endif

/// Checks the name of a POSIX IPC object (shared memory, named semaphore) before
/// the system call sees it, so a bad name is a clear error instead of whatever the
/// C library makes of it.
///
/// A valid name is one slash followed by 1 to `maximumLength` bytes with no slash
/// and no NUL, other than `.` and `..`: `/orders`. glibc creates the object as a
/// file of that name in /dev/shm (semaphores as `sem.NAME`), which sets the limit.
enum PosixIPCName {
    /// The longest name (after the slash) `shm_open` accepts: glibc rejects
    /// NAME_MAX - 1 bytes and more.
    static let sharedMemoryMaximum = Int(NAME_MAX) - 2
    /// The longest name (after the slash) `sem_open` accepts: the file is
    /// `sem.NAME`, which must fit NAME_MAX.
    static let semaphoreMaximum = Int(NAME_MAX) - 4

    /// Throws `EINVAL` for a malformed name and `ENAMETOOLONG` for a long one,
    /// as an error of `operation` on `name`.
    /// Checks `name` before any system call: one leading slash, something after
    /// it, no other slash, no NUL, not "." or "..", at most `maximumLength` bytes
    /// after the slash. `noun` and `example` word the error ("queue", "/orders").
    static func validate(
        _ name: String, maximumLength: Int, operation: String,
        noun: String = "POSIX IPC name", example: String = "/name"
    ) throws(IPCError) {
        let object = IPCError.describe(path: name)
        func invalid(_ why: String) -> IPCError {
            IPCError(.invalidArgument, operation: operation, object: object, detail: why)
        }
        let bytes = Array(name.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw invalid("a \(noun) starts with a slash, e.g. \"\(example)\"")
        }
        let rest = bytes.dropFirst()
        if rest.isEmpty { throw invalid("a \(noun) has at least one character after the slash") }
        if rest.contains(UInt8(ascii: "/")) { throw invalid("a \(noun) has no slash after the first character") }
        if rest.contains(0) { throw invalid("a \(noun) cannot contain a NUL byte") }
        if rest.elementsEqual(".".utf8) || rest.elementsEqual("..".utf8) {
            throw invalid("\".\" and \"..\" are not \(noun)s")
        }
        if rest.count > maximumLength {
            throw IPCError(.fileNameTooLong, operation: operation, object: object,
                           detail: "\(rest.count) bytes after the slash; the limit is \(maximumLength)")
        }
    }
}
