import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor this value owns: it is closed exactly once, by `close()` or
/// when the value goes out of scope.
///
/// Every descriptor the library opens is close-on-exec. To give one to a child
/// process, name it in the spawn's descriptor map (`Spawn`), which is the only way
/// a descriptor crosses `exec`; or `release()` it to take ownership yourself.
public struct OwnedDescriptor: ~Copyable, Sendable {
    /// The descriptor number. Valid while this value lives; do not close it.
    public let rawValue: CInt

    /// Takes ownership of `descriptor`.
    public init(adopting descriptor: FileDescriptor) {
        self.rawValue = descriptor.rawValue
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
