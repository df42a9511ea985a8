import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A stream or seqpacket Unix socket bound to an address and accepting
/// connections (SPEC S7).
///
/// ```swift
/// let listener = try UnixListener(path: "/run/app.sock", options: .init(removeOnClose: true))
/// let connection = try await listener.acceptAsync()
/// let credentials = try connection.peerCredentials
/// ```
///
/// Safe defaults (see `UnixSocketBindOptions`): the socket file has mode 0600 from
/// the instant it exists; an existing path is never replaced (`EADDRINUSE`)
/// unless it is a stale socket and `replacingStaleSocket` is set; the file stays
/// after close unless `removeOnClose` is set. A path longer than
/// `UnixSocketAddress.maxPathLength` is `ENAMETOOLONG` before any system call.
///
/// The listening descriptor is non-blocking (so every accept form can wait on
/// readiness); accepted sockets are blocking and close-on-exec.
public struct UnixListener: ~Copyable, Sendable {
    /// The listening descriptor (non-blocking).
    public let descriptor: OwnedDescriptor
    /// `.stream` or `.seqPacket`.
    public let kind: UnixSocket.Kind
    /// The address it is bound to (for `.unnamed`, the name the kernel chose).
    public let address: UnixSocketAddress
    let link: SocketFileLink

    /// Binds a new socket of `kind` to `address` and listens on it, with at most
    /// `backlog` connections waiting to be accepted.
    ///
    /// The corresponding C functions are `socket`, `bind` and `listen`.
    public init(address: UnixSocketAddress, kind: UnixSocket.Kind = .stream,
                options: UnixSocketBindOptions = UnixSocketBindOptions(), backlog: Int = Int(SOMAXCONN)) throws(IPCError) {
        if kind == .datagram {
            throw IPCError(.notSupportedOnSocket, operation: "listen", object: address.errorDescription,
                           detail: "datagram sockets have no connections; use UnixSocket.bind(to:kind:options:)")
        }
        guard backlog >= 0, backlog <= Int(CInt.max) else {
            throw IPCError(.invalidArgument, operation: "listen", object: address.errorDescription,
                           detail: "backlog \(backlog) is negative or too large")
        }
        let descriptor = try UnixSocket.makeDescriptor(kind, nonBlocking: true)
        var link = try bindSocket(descriptor.rawValue, kind: kind, to: address, options: options)
        if system_listen(descriptor.rawValue, CInt(backlog)) != 0 {
            let error = IPCError.last("listen", object: address.errorDescription)
            link.removeOnDestroy = true  // the file is ours and useless
            throw error
        }
        var bound = address
        if address.isUnnamed {
            let (rc, name) = UnixSocketAddress.receiving { system_getsockname(descriptor.rawValue, $0, $1) }
            if rc == 0 { bound = name }
        }
        self.descriptor = descriptor
        self.kind = kind
        self.address = bound
        self.link = link
    }

    /// Listens on the socket file `path`; see `init(address:kind:options:backlog:)`.
    public init(path: FilePath, kind: UnixSocket.Kind = .stream,
                options: UnixSocketBindOptions = UnixSocketBindOptions(), backlog: Int = Int(SOMAXCONN)) throws(IPCError) {
        try self.init(address: UnixSocketAddress(path: path, operation: "bind"), kind: kind, options: options, backlog: backlog)
    }

    /// Closes the listener, reporting errors; then removes the socket file if
    /// `removeOnClose` was set and the path still names the file it created.
    public consuming func close() throws(IPCError) {
        try descriptor.close()
    }

    // MARK: accept

    /// Accepts a connection that is waiting now; nil when none is.
    ///
    /// The corresponding C function is `accept4` with `SOCK_CLOEXEC`.
    public func tryAccept() throws(IPCError) -> UnixSocket? {
        while true {
            let fd = retryingInterrupts { system_accept4(descriptor.rawValue, nil, nil, CInt(SOCK_CLOEXEC.rawValue)) }
            if fd >= 0 { return UnixSocket(OwnedDescriptor(adoptingRaw: fd), kind: kind) }
            switch lastErrno {
            case EAGAIN: return nil
            case ECONNABORTED: continue  // the client gave up before we accepted
            default: throw IPCError.last("accept4", object: address.errorDescription)
            }
        }
    }

    /// Accepts a connection, blocking until one arrives.
    public func accept() throws(IPCError) -> UnixSocket {
        try accept(until: .distantFuture)
    }

    /// Accepts a connection, waiting at most until `deadline` (`ETIMEDOUT`).
    public func accept(until deadline: Deadline) throws(IPCError) -> UnixSocket {
        try descriptor.retry(.readable, until: deadline, operation: "accept4") { () throws(IPCError) in try tryAccept() }
    }

    /// `accept(…until:)` with a deadline `timeout` from now.
    public func accept(timeout: Duration) throws(IPCError) -> UnixSocket { try accept(until: .after(timeout)) }

    /// Accepts a connection, suspending (not blocking a thread) until one arrives;
    /// `CancellationError` as soon as the task is cancelled.
    public func acceptAsync() async throws -> UnixSocket {
        try await descriptor.retry(.readable) { () throws(IPCError) in try tryAccept() }
    }
}
