import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor this value owns: it is closed exactly once, by `close()` or
/// when the value goes out of scope.
///
/// Every descriptor the library opens is close-on-exec. To give one to a child
/// process, name it in the spawn's descriptor map (`Spawn.inherit(_:as:)`), which
/// is the only way a descriptor crosses `exec`; or `release()` it to take
/// ownership yourself.
///
/// Ownership rules of the whole API: what keeps or hands over a descriptor takes an
/// `OwnedDescriptor` — `consuming` when it keeps it, `borrowing` when it only uses or
/// copies it (`Spawn.inherit`, `UnixSocket.send(_:descriptor:)`) — and types expose
/// theirs as a borrowed `descriptor`. A descriptor from outside enters through one
/// of the two initialisers below, and a typed owner adopts it with
/// `init(adopting: consuming OwnedDescriptor, …)` (`UnixSocket`,
/// `PosixMessageQueue`, `PipeReader`…).
public struct OwnedDescriptor: ~Copyable, Sendable {
    /// The descriptor number. Valid while this value lives; do not close it.
    public let rawValue: CInt

    /// Takes ownership of `descriptor`, unchecked: the caller must own it (nothing
    /// else may close it or hand it to another owner), and it is closed when this
    /// value ends. For a descriptor a parent process handed down by number, use
    /// `init(inheritedNumber:)`, which checks it.
    public init(adopting descriptor: FileDescriptor) {
        self.rawValue = descriptor.rawValue
    }

    /// Takes ownership of descriptor `number`, which the parent process handed to
    /// this one (for example with `Spawn.inherit(_:as:)`): checks that it is open
    /// (`EBADF` naming the number otherwise) and makes it close-on-exec: it crossed
    /// `exec` without the flag, and would otherwise leak into any program this
    /// process starts by other means than `Spawn` (`system`, another library).
    ///
    /// The corresponding C calls are `fcntl(fd, F_GETFD)` and `fcntl(fd, F_SETFD,
    /// FD_CLOEXEC)`.
    public init(inheritedNumber number: CInt) throws(IPCError) {
        if number < 0 || system_fcntl(number, F_GETFD) < 0 {
            let code = number < 0 ? EBADF : lastErrno
            throw IPCError(Errno(rawValue: code), operation: "fcntl(F_GETFD)", object: IPCError.describe(fd: number),
                           detail: code == EBADF ? "descriptor \(number) is not open: this process was not handed it" : nil)
        }
        let owned = OwnedDescriptor(adoptingRaw: number)
        try owned.setCloseOnExec(true)
        self = owned
    }

    init(adoptingRaw raw: CInt) {
        self.rawValue = raw
    }

    deinit {
        _ = system_close(rawValue)
    }

    /// The descriptor as swift-system's unowned `FileDescriptor`, for calls this
    /// library does not wrap. It stays valid only while this value lives.
    public var unowned: FileDescriptor { FileDescriptor(rawValue: rawValue) }

    /// Closes the descriptor and reports a failure (e.g. `EIO` on a delayed write).
    ///
    /// The descriptor is released even when close fails (Linux never retries it).
    /// The corresponding C function is `close`.
    public consuming func close() throws(IPCError) {
        let fd = rawValue
        discard self
        if system_close(fd) != 0 { throw IPCError.last("close", fd: fd) }
    }

    /// Gives up ownership: the caller must close the returned descriptor.
    public consuming func release() -> FileDescriptor {
        let fd = rawValue
        discard self
        return FileDescriptor(rawValue: fd)
    }

    /// A second descriptor for the same open file description, close-on-exec.
    ///
    /// The corresponding C call is `fcntl(fd, F_DUPFD_CLOEXEC, 0)`.
    public func duplicate() throws(IPCError) -> OwnedDescriptor {
        let fd = system_fcntl(rawValue, F_DUPFD_CLOEXEC, 0)
        if fd < 0 { throw IPCError.last("dup", fd: rawValue) }
        return OwnedDescriptor(adoptingRaw: fd)
    }
}

// MARK: descriptor and status flags (SPEC S2)

extension OwnedDescriptor {
    /// Whether the descriptor is closed by `exec` (`FD_CLOEXEC`). True for every
    /// descriptor the library opens.
    public var isCloseOnExec: Bool {
        get throws(IPCError) {
            let flags = system_fcntl(rawValue, F_GETFD)
            if flags < 0 { throw IPCError.last("fcntl(F_GETFD)", fd: rawValue) }
            return flags & FD_CLOEXEC != 0
        }
    }

    /// Sets or clears `FD_CLOEXEC`, keeping the other descriptor flags.
    public func setCloseOnExec(_ enabled: Bool) throws(IPCError) {
        let flags = system_fcntl(rawValue, F_GETFD)
        if flags < 0 { throw IPCError.last("fcntl(F_GETFD)", fd: rawValue) }
        let updated = enabled ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC
        if updated != flags, system_fcntl(rawValue, F_SETFD, updated) < 0 {
            throw IPCError.last("fcntl(F_SETFD)", fd: rawValue)
        }
    }

    /// The file status flags (`O_NONBLOCK`, `O_APPEND`, the access mode…).
    ///
    /// The corresponding C call is `fcntl(fd, F_GETFL)`.
    public var statusFlags: CInt {
        get throws(IPCError) {
            let flags = system_fcntl(rawValue, F_GETFL)
            if flags < 0 { throw IPCError.last("fcntl(F_GETFL)", fd: rawValue) }
            return flags
        }
    }

    /// Whether reads and writes return "would block" instead of waiting.
    public var isNonBlocking: Bool {
        get throws(IPCError) { try statusFlags & O_NONBLOCK != 0 }
    }

    /// Turns `O_NONBLOCK` on or off without clearing any other status flag
    /// (read with `F_GETFL`, changed, written back with `F_SETFL`). SPEC S2.
    ///
    /// The flag belongs to the open file description: every descriptor that shares
    /// it, in this process or another, sees the change.
    public func setNonBlocking(_ enabled: Bool) throws(IPCError) {
        let flags = try statusFlags
        let updated = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if updated != flags, system_fcntl(rawValue, F_SETFL, updated) < 0 {
            throw IPCError.last("fcntl(F_SETFL)", fd: rawValue)
        }
    }
}
