import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Named pipes: a FIFO is a pipe with a name in the file system, so unrelated
/// processes can open its two ends (SPEC S4).
///
/// ```swift
/// try FIFO.create(at: "/tmp/orders")                      // mode 0600, exclusive
/// let reader = try await FIFO.openForReadingAsync("/tmp/orders") // waits for a writer
/// ```
///
/// Opening follows the POSIX rules: a blocking open for reading waits until some
/// process opens the FIFO for writing, and the other way round; a non-blocking open
/// for reading succeeds at once; a non-blocking open for writing with no reader
/// fails with `ENXIO`. The time-bounded and async opens really wait for the
/// partner, through the library's `WaitingEngine`.
///
/// Every open is close-on-exec and does not follow a symbolic link in the last
/// component (`O_NOFOLLOW`), and refuses what is not a FIFO with `EINVAL` —
/// opening a regular file or a device by mistake would otherwise succeed, and
/// opening a FIFO one meant to be something else would block.
public enum FIFO {
    // MARK: create, check, remove

    /// Creates a FIFO at `path`; fails with `EEXIST` when anything is there already
    /// (creation is exclusive by nature). The process umask applies to
    /// `permissions`, as for every file created.
    ///
    /// The corresponding C function is `mkfifo`.
    public static func create(at path: FilePath, permissions: FilePermissions = .ownerReadWrite) throws(IPCError) {
        try create(Location(path), permissions)
    }

    /// Creates a FIFO at `path` relative to the directory `directory` (an absolute
    /// `path` ignores it). The corresponding C function is `mkfifoat`.
    public static func create(at path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                              permissions: FilePermissions = .ownerReadWrite) throws(IPCError) {
        try create(Location(path, directory.rawValue), permissions)
    }

    /// Whether `path` names a FIFO — a symbolic link to one does not count (the
    /// link itself is examined). False when nothing is at `path`, like `test -p`;
    /// other failures (e.g. `EACCES` on a directory of the path) are thrown.
    ///
    /// The corresponding C call is `fstatat(AT_FDCWD, path, …, AT_SYMLINK_NOFOLLOW)`
    /// and `S_ISFIFO`.
    public static func isFIFO(_ path: FilePath) throws(IPCError) -> Bool {
        try fileType(Location(path)) == S_IFIFO
    }

    /// Whether `path`, relative to `directory`, names a FIFO (see `isFIFO(_:)`).
    public static func isFIFO(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor) throws(IPCError) -> Bool {
        try fileType(Location(path, directory.rawValue)) == S_IFIFO
    }

    /// Removes the name. Ends that are open keep working; the FIFO itself goes away
    /// with the last of them. The corresponding C function is `unlink`.
    public static func unlink(_ path: FilePath) throws(IPCError) {
        try unlink(Location(path))
    }

    /// Removes `path` relative to `directory`. The corresponding C function is `unlinkat`.
    public static func unlink(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor) throws(IPCError) {
        try unlink(Location(path, directory.rawValue))
    }

    // MARK: open, blocking or non-blocking

    /// Opens the read end. Blocking: waits until a writer opens the FIFO.
    /// `nonBlocking`: returns at once, and the reader stays in non-blocking mode.
    ///
    /// The corresponding C call is `open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)`.
    public static func openForReading(_ path: FilePath, nonBlocking: Bool = false) throws(IPCError) -> PipeReader {
        PipeReader(try open(Location(path), .reading, nonBlocking: nonBlocking))
    }

    public static func openForReading(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                                      nonBlocking: Bool = false) throws(IPCError) -> PipeReader {
        PipeReader(try open(Location(path, directory.rawValue), .reading, nonBlocking: nonBlocking))
    }

    /// Opens the write end. Blocking: waits until a reader opens the FIFO.
    /// `nonBlocking`: fails with `ENXIO` when no process has it open for reading,
    /// and the writer stays in non-blocking mode.
    ///
    /// The corresponding C call is `open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)`.
    public static func openForWriting(_ path: FilePath, nonBlocking: Bool = false) throws(IPCError) -> PipeWriter {
        PipeWriter(try open(Location(path), .writing, nonBlocking: nonBlocking))
    }

    public static func openForWriting(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                                      nonBlocking: Bool = false) throws(IPCError) -> PipeWriter {
        PipeWriter(try open(Location(path, directory.rawValue), .writing, nonBlocking: nonBlocking))
    }

    // MARK: open, time-bounded

    /// Opens the read end, waiting at most until `deadline` for a writer; throws
    /// `ETIMEDOUT` when none came. The reader is in blocking mode.
    ///
    /// To end the wait the library opens the write end itself, non-blocking, which
    /// wakes the pending open; other processes blocked opening the same FIFO for
    /// reading may wake too and then read end of file.
    public static func openForReading(_ path: FilePath, until deadline: Deadline) throws(IPCError) -> PipeReader {
        PipeReader(try openWaiting(Location(path), .reading, until: deadline))
    }

    /// `openForReading(…until:)` with a deadline `timeout` from now.
    public static func openForReading(_ path: FilePath, timeout: Duration) throws(IPCError) -> PipeReader {
        try openForReading(path, until: .after(timeout))
    }

    public static func openForReading(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                                      until deadline: Deadline) throws(IPCError) -> PipeReader {
        PipeReader(try openWaiting(Location(path, directory.rawValue), .reading, until: deadline))
    }

    /// `openForReading(…until:)` with a deadline `timeout` from now.
    public static func openForReading(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor, timeout: Duration) throws(IPCError) -> PipeReader {
        try openForReading(path, relativeTo: directory, until: .after(timeout))
    }

    /// Opens the write end, waiting at most until `deadline` for a reader; throws
    /// `ETIMEDOUT` when none came. The writer is in blocking mode.
    public static func openForWriting(_ path: FilePath, until deadline: Deadline) throws(IPCError) -> PipeWriter {
        PipeWriter(try openWaiting(Location(path), .writing, until: deadline))
    }

    /// `openForWriting(…until:)` with a deadline `timeout` from now.
    public static func openForWriting(_ path: FilePath, timeout: Duration) throws(IPCError) -> PipeWriter {
        try openForWriting(path, until: .after(timeout))
    }

    public static func openForWriting(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                                      until deadline: Deadline) throws(IPCError) -> PipeWriter {
        PipeWriter(try openWaiting(Location(path, directory.rawValue), .writing, until: deadline))
    }

    /// `openForWriting(…until:)` with a deadline `timeout` from now.
    public static func openForWriting(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor, timeout: Duration) throws(IPCError) -> PipeWriter {
        try openForWriting(path, relativeTo: directory, until: .after(timeout))
    }

    // MARK: open, async

    /// Opens the read end, suspending until a writer opens the FIFO. The wait runs
    /// on a thread of the library's own; cancelling the task ends it promptly with
    /// `CancellationError`. With a `deadline`, throws `ETIMEDOUT` when it passes.
    public static func openForReadingAsync(_ path: FilePath, until deadline: Deadline = .distantFuture) async throws -> PipeReader {
        PipeReader(try await openWaiting(Location(path), .reading, until: deadline))
    }

    /// `openForReadingAsync(…until:)` with a deadline `timeout` from now.
    public static func openForReadingAsync(_ path: FilePath, timeout: Duration) async throws -> PipeReader {
        try await openForReadingAsync(path, until: .after(timeout))
    }

    public static func openForReadingAsync(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                                      until deadline: Deadline = .distantFuture) async throws -> PipeReader {
        PipeReader(try await openWaiting(Location(path, directory.rawValue), .reading, until: deadline))
    }

    /// `openForReadingAsync(…until:)` with a deadline `timeout` from now.
    public static func openForReadingAsync(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor, timeout: Duration) async throws -> PipeReader {
        try await openForReadingAsync(path, relativeTo: directory, until: .after(timeout))
    }

    /// Opens the write end, suspending until a reader opens the FIFO; cancellable.
    public static func openForWritingAsync(_ path: FilePath, until deadline: Deadline = .distantFuture) async throws -> PipeWriter {
        PipeWriter(try await openWaiting(Location(path), .writing, until: deadline))
    }

    /// `openForWritingAsync(…until:)` with a deadline `timeout` from now.
    public static func openForWritingAsync(_ path: FilePath, timeout: Duration) async throws -> PipeWriter {
        try await openForWritingAsync(path, until: .after(timeout))
    }

    public static func openForWritingAsync(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor,
                                      until deadline: Deadline = .distantFuture) async throws -> PipeWriter {
        PipeWriter(try await openWaiting(Location(path, directory.rawValue), .writing, until: deadline))
    }

    /// `openForWritingAsync(…until:)` with a deadline `timeout` from now.
    public static func openForWritingAsync(_ path: FilePath, relativeTo directory: borrowing OwnedDescriptor, timeout: Duration) async throws -> PipeWriter {
        try await openForWritingAsync(path, relativeTo: directory, until: .after(timeout))
    }
}

// MARK: implementation

extension FIFO {
    /// A path, relative to a directory descriptor or to the working directory.
    struct Location: Sendable {
        var path: FilePath
        var directory: CInt = AT_FDCWD

        init(_ path: FilePath, _ directory: CInt = AT_FDCWD) {
            self.path = path
            self.directory = directory
        }

        var described: String { IPCError.describe(path: path) }

        /// Runs a C call with the path; returns its result and the errno it left.
        func call(_ body: (CInt, UnsafePointer<CChar>) -> CInt) -> (result: CInt, errno: CInt) {
            path.withPlatformString { cPath in
                let result = body(directory, cPath)
                return (result, lastErrno)
            }
        }
    }

    enum Access: Sendable {
        case reading, writing

        var flags: CInt { self == .reading ? O_RDONLY : O_WRONLY }
        var other: Access { self == .reading ? .writing : .reading }
    }

    static func create(_ location: Location, _ permissions: FilePermissions) throws(IPCError) {
        guard permissions.rawValue & ~0o777 == 0 else {
            throw IPCError(.invalidArgument, operation: "mkfifo", object: location.described,
                           detail: "mode \(String(permissions.rawValue, radix: 8)) has bits beyond 0777")
        }
        let (rc, code) = location.call { system_mkfifoat($0, $1, permissions.rawValue) }
        if rc != 0 { throw IPCError(Errno(rawValue: code), operation: "mkfifo", object: location.described) }
    }

    static func unlink(_ location: Location) throws(IPCError) {
        let (rc, code) = location.call { system_unlinkat($0, $1, 0) }
        if rc != 0 { throw IPCError(Errno(rawValue: code), operation: "unlink", object: location.described) }
    }

    /// The `S_IFMT` bits of what `location` names (not following a link), or nil
    /// when nothing is there.
    static func fileType(_ location: Location) throws(IPCError) -> mode_t? {
        var info = stat()
        let (rc, code) = location.call { system_fstatat($0, $1, &info, AT_SYMLINK_NOFOLLOW) }
        if rc == 0 { return info.st_mode & S_IFMT }
        if code == ENOENT || code == ENOTDIR { return nil }
        throw IPCError(Errno(rawValue: code), operation: "fstatat", object: location.described)
    }

    static func typeName(_ type: mode_t) -> String {
        switch type {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a FIFO"
        }
    }

    static func notAFIFO(_ location: Location, _ type: mode_t) -> IPCError {
        IPCError(.invalidArgument, operation: "open", object: location.described,
                 detail: "it is \(typeName(type)), not a FIFO")
    }

    /// One open with the POSIX blocking rules, checked to be a FIFO before (so a
    /// device is never opened by mistake) and after (the name may have changed in
    /// between).
    static func openRaw(_ location: Location, _ access: Access, nonBlocking: Bool, retryingInterrupts retrying: Bool = true) -> Result<CInt, IPCError> {
        do throws(IPCError) {
            if let type = try fileType(location), type != S_IFIFO { return .failure(notAFIFO(location, type)) }
        } catch {
            // Let the open report the problem (it names the operation users expect).
        }
        let flags = access.flags | O_CLOEXEC | O_NOFOLLOW | (nonBlocking ? O_NONBLOCK : 0)
        let (fd, code) = location.call { dir, path in
            retrying ? retryingInterrupts { system_openat(dir, path, flags, 0) } : system_openat(dir, path, flags, 0)
        }
        if fd < 0 { return .failure(IPCError(Errno(rawValue: code), operation: "open", object: location.described)) }
        var info = stat()
        if system_fstat(fd, &info) != 0 {
            let error = IPCError.last("fstat", object: location.described)
            _ = system_close(fd)
            return .failure(error)
        }
        if info.st_mode & S_IFMT != S_IFIFO {
            _ = system_close(fd)
            return .failure(notAFIFO(location, info.st_mode & S_IFMT))
        }
        return .success(fd)
    }

    static func open(_ location: Location, _ access: Access, nonBlocking: Bool) throws(IPCError) -> OwnedDescriptor {
        LibrarySignals.ignoreBrokenPipe()
        return OwnedDescriptor(adoptingRaw: try openRaw(location, access, nonBlocking: nonBlocking).get())
    }

    /// A writer open succeeds at once when a reader is there; try that first so the
    /// common case needs no thread.
    static func openAtOnce(_ location: Location, _ access: Access) throws(IPCError) -> OwnedDescriptor? {
        guard access == .writing else { return nil }
        switch openRaw(location, .writing, nonBlocking: true) {
        case .success(let fd):
            let descriptor = OwnedDescriptor(adoptingRaw: fd)
            try descriptor.setNonBlocking(false)
            return descriptor
        case .failure(let error) where error.errno == .noSuchAddressOrDevice:
            return nil
        case .failure(let error):
            throw error
        }
    }

    /// A blocking open on the calling thread; the `WaitingEngine`'s timer
    /// interrupts it at the deadline (`EINTR`: a FIFO open waiting for its partner
    /// is not restarted after the library's signal).
    static func openWaiting(_ location: Location, _ access: Access, until deadline: Deadline) throws(IPCError) -> OwnedDescriptor {
        LibrarySignals.ignoreBrokenPipe()
        if let descriptor = try openAtOnce(location, access) { return descriptor }
        let opened = try WaitingEngine.waitOnCallingThread(interruptingAt: deadline) { openAttempt(location, access) }
        guard let opened else { throw openTimedOut(location, access) }
        return OwnedDescriptor(adoptingRaw: try opened.get())
    }

    /// A blocking open on a worker of the `WaitingEngine`, interrupted at the
    /// deadline or when the task is cancelled. An open that succeeded as the task
    /// was cancelled is returned.
    static func openWaiting(_ location: Location, _ access: Access, until deadline: Deadline) async throws -> OwnedDescriptor {
        LibrarySignals.ignoreBrokenPipe()
        try Task.checkCancellation()
        if let descriptor = try openAtOnce(location, access) { return descriptor }
        let opened = try await WaitingEngine.wait(interruptingAt: deadline) { openAttempt(location, access) }
        guard let opened else { throw openTimedOut(location, access) }
        return OwnedDescriptor(adoptingRaw: try opened.get())
    }

    /// One blocking open waiting for the partner; nil after `EINTR`.
    static func openAttempt(_ location: Location, _ access: Access) -> Result<CInt, IPCError>? {
        switch openRaw(location, access, nonBlocking: false, retryingInterrupts: false) {
        case .failure(let error) where error.errno == .interrupted: return nil
        case let result: return result
        }
    }

    static func openTimedOut(_ location: Location, _ access: Access) -> IPCError {
        IPCError(.timedOut, operation: "open", object: location.described,
                 detail: "no process opened the FIFO for \(access.other == .writing ? "writing" : "reading") in time")
    }
}
