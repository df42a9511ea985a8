import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Connecting to a listener or a bound datagram socket by address (SPEC S7).
//
// A Unix stream or seqpacket connect completes at once or fails, except when the
// listener's backlog is full: then a blocking connect waits for room. The
// time-bounded form bounds that wait with `SO_SNDTIMEO` (the kernel's own timer
// for it); the async form retries a non-blocking connect with a short backoff,
// since readiness cannot announce room in another socket's backlog.

extension UnixSocket {
    /// Connects a new socket of `kind` to `address`. Throws `ENOENT` when nothing
    /// is there, `ECONNREFUSED` when the file is not a listening socket (or not a
    /// socket), `EPROTOTYPE` for a socket of another kind, `EACCES` without write
    /// permission on the socket file. Waits while the listener's backlog is full.
    ///
    /// The corresponding C functions are `socket` and `connect`.
    public static func connect(to address: UnixSocketAddress, kind: Kind = .stream) throws(IPCError) -> UnixSocket {
        let socket = try UnixSocket(kind)
        try socket.connect(to: address)
        return socket
    }

    /// Connects to the socket file at `path`; `ENAMETOOLONG` before any system
    /// call when the path is too long for a socket address.
    public static func connect(to path: FilePath, kind: Kind = .stream) throws(IPCError) -> UnixSocket {
        try connect(to: UnixSocketAddress(path: path, operation: "connect"), kind: kind)
    }

    /// Connects, waiting at most until `deadline` for room in a full backlog
    /// (`ETIMEDOUT`).
    public static func connect(to address: UnixSocketAddress, kind: Kind = .stream, until deadline: Deadline) throws(IPCError) -> UnixSocket {
        let socket = try UnixSocket(kind)
        try socket.connect(to: address, until: deadline)
        return socket
    }

    /// `connect(…until:)` with a deadline `timeout` from now.
    public static func connect(to address: UnixSocketAddress, kind: Kind = .stream, timeout: Duration) throws(IPCError) -> UnixSocket {
        try connect(to: address, kind: kind, until: .after(timeout))
    }

    public static func connect(to path: FilePath, kind: Kind = .stream, until deadline: Deadline) throws(IPCError) -> UnixSocket {
        try connect(to: UnixSocketAddress(path: path, operation: "connect"), kind: kind, until: deadline)
    }

    /// `connect(…until:)` with a deadline `timeout` from now.
    public static func connect(to path: FilePath, kind: Kind = .stream, timeout: Duration) throws(IPCError) -> UnixSocket {
        try connect(to: path, kind: kind, until: .after(timeout))
    }

    /// Connects without blocking a thread; while a full backlog keeps the
    /// connection waiting, retries with a backoff of up to 10 ms. Throws
    /// `CancellationError` when the task is cancelled.
    public static func connectAsync(to address: UnixSocketAddress, kind: Kind = .stream) async throws -> UnixSocket {
        let socket = UnixSocket(try makeDescriptor(kind, nonBlocking: true), kind: kind)
        var pause = Duration.microseconds(100)
        while true {
            try Task.checkCancellation()
            if socket.connectOnce(to: address) == 0 { break }
            let error = IPCError.last("connect", object: address.errorDescription)
            guard error.errno == .resourceTemporarilyUnavailable else { throw error }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(10))
        }
        try socket.descriptor.setNonBlocking(false)
        return socket
    }

    public static func connectAsync(to path: FilePath, kind: Kind = .stream) async throws -> UnixSocket {
        try await connectAsync(to: UnixSocketAddress(path: path, operation: "connect"), kind: kind)
    }

    /// Connects this socket to `address`: for a datagram socket, sets the only
    /// address it sends to and receives from.
    ///
    /// The corresponding C function is `connect`.
    public func connect(to address: UnixSocketAddress) throws(IPCError) {
        if connectOnce(to: address) != 0 { throw IPCError.last("connect", object: address.errorDescription) }
    }

    /// `connect(to:)`, waiting at most until `deadline` for room in a full backlog.
    public func connect(to address: UnixSocketAddress, until deadline: Deadline) throws(IPCError) {
        let fd = descriptor.rawValue
        defer { _ = setSendTimeout(fd, nil) }
        while true {
            guard setSendTimeout(fd, deadline) == 0 else { throw IPCError.last("setsockopt(SO_SNDTIMEO)", fd: fd) }
            // No EINTR retry here: an interrupted wait resumes with the time left.
            if address.withSockaddr({ system_connect(fd, $0, $1) }) == 0 { return }
            let code = lastErrno
            if code == EINTR && !deadline.hasPassed { continue }
            if code == EAGAIN || code == EINTR || code == EINPROGRESS {
                throw IPCError(.timedOut, operation: "connect", object: address.errorDescription,
                               detail: "the listener's backlog stayed full")
            }
            throw IPCError(Errno(rawValue: code), operation: "connect", object: address.errorDescription)
        }
    }

    /// `connect(…until:)` with a deadline `timeout` from now.
    public func connect(to address: UnixSocketAddress, timeout: Duration) throws(IPCError) {
        try connect(to: address, until: .after(timeout))
    }

    func connectOnce(to address: UnixSocketAddress) -> CInt {
        let fd = descriptor.rawValue
        return address.withSockaddr { name, length in retryingInterrupts { system_connect(fd, name, length) } }
    }
}

/// Sets `SO_SNDTIMEO` to the time left until `deadline` (at least 1 µs, since 0
/// means "no timeout"), or clears it for nil.
private func setSendTimeout(_ fd: CInt, _ deadline: Deadline?) -> CInt {
    var value = timeval(tv_sec: 0, tv_usec: 0)
    if let deadline {
        let (seconds, attoseconds) = deadline.remaining.components
        value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        if value.tv_sec == 0 && value.tv_usec == 0 { value.tv_usec = 1 }
    }
    return system_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
}
