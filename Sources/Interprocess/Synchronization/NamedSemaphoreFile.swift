import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Opens and creates the file of a named semaphore, `/dev/shm/sem.NAME`, and maps
/// it — what glibc's `sem_open` does, but refusing anything that is not a
/// well-formed semaphore before touching it (SPEC Y1; issue 8, item 1).
///
/// Anyone can put a file under that name. So an open never waits (`O_NONBLOCK`:
/// a FIFO would wait for a writer), never follows a link (`O_NOFOLLOW`), accepts
/// only a regular file of exactly `PosixSemaphoreLayout.size` bytes, and maps it
/// through the library's guarded `MemoryMapping` (a peer that truncates the file
/// later makes the next operation `EFAULT`, not `SIGBUS`). The contents are
/// validated in the mapping itself, so what was checked is what is used.
///
/// Creation is race-free, like glibc's: the new semaphore is written completely
/// into an unnamed file (`O_TMPFILE`) and only then linked under its name, with
/// `linkat`, which fails with `EEXIST` when the name exists — nobody ever sees
/// a half-made semaphore, and a creator killed halfway leaves nothing behind.
enum NamedSemaphoreFile {
    /// Where glibc keeps named semaphores.
    static let directory = "/dev/shm"

    /// `/dev/shm/sem.NAME` (or, with another `prefix`, the file of a shared memory
    /// object), NUL-terminated, for a validated name.
    static func path(_ name: PosixIPCName, prefix: String = "sem.") -> [CChar] {
        (Array((directory + "/").utf8) + name.fileName(prefix: prefix) + [0]).map { CChar(bitPattern: $0) }
    }

    /// Opens and maps the existing semaphore; `ENOENT` when there is none,
    /// `EINVAL` when the file is not a semaphore (the detail says why).
    static func open(_ name: PosixIPCName) throws(IPCError) -> MemoryMapping {
        let object = name.quoted
        let fd = path(name).withUnsafeBufferPointer {
            system_open($0.baseAddress!, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0)
        }
        if fd < 0 {
            let code = lastErrno
            throw IPCError(Errno(rawValue: code), operation: "sem_open", object: object,
                           detail: SharedDirectoryFile.explainOpenFailure(code, noun: "semaphore", path: path(name)))
        }
        let descriptor = OwnedDescriptor(adoptingRaw: fd)
        let status = try SharedDirectoryFile.requireRegularFile(fd, operation: "sem_open", object: object, noun: "semaphore")
        try PosixSemaphoreLayout.checkSize(Int(status.st_size), object: object)
        let mapping = try mapSemaphore(descriptor, object: object)
        _ = try PosixSemaphoreLayout.validate(try mapping.read(count: PosixSemaphoreLayout.size, from: 0), object: object)
        return mapping
    }

    /// Creates the semaphore with `value` and maps it; `EEXIST` when the name exists.
    /// The process umask applies to `permissions`.
    static func create(_ name: PosixIPCName, value: UInt32, permissions: FilePermissions) throws(IPCError) -> MemoryMapping {
        let object = name.quoted
        guard let descriptor = try UnnamedFile.create(in: FilePath(directory), permissions: permissions, operation: "sem_open") else {
            throw IPCError(.notSupported, operation: "sem_open", object: object, detail: "\(directory) cannot hold unnamed files (O_TMPFILE)")
        }
        let fd = descriptor.rawValue
        let bytes = PosixSemaphoreLayout.newSemaphore(value: value)
        let written = bytes.withUnsafeBytes { buffer in retryingInterrupts { system_write(fd, buffer.baseAddress, buffer.count) } }
        if written != bytes.count {
            if written >= 0 { cipc_errno_set_captured(ENOSPC) }
            throw IPCError.last("sem_open", object: object, detail: "cannot write the new semaphore")
        }
        let mapping = try mapSemaphore(descriptor, object: object)
        let named = path(name).withUnsafeBufferPointer { FilePath(platformString: $0.baseAddress!) }
        if try !UnnamedFile.link(fd, at: named, operation: "sem_open") {
            throw IPCError(.fileExists, operation: "sem_open", object: object)
        }
        return mapping
    }

    private static func mapSemaphore(_ descriptor: borrowing OwnedDescriptor, object: String) throws(IPCError) -> MemoryMapping {
        try MemoryMapping(descriptor, protection: .readWrite, sharing: .shared, offset: 0,
                          length: PosixSemaphoreLayout.size, label: object, keepingDescriptor: false)
    }
}
