import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A connected socket to a syslog destination: the library's `UnixSocket` for the
/// local datagram socket, a plain inet socket for UDP and TCP.
protocol SyslogConnection: AnyObject, Sendable {
    /// Sends one message (a datagram, or a frame on TCP), waiting at most until `deadline`.
    func send(_ message: [UInt8], until deadline: Deadline) throws(IPCError)
}

/// Connects to `destination`; a send or a connect waits at most `timeout`.
func connectSyslog(_ destination: SyslogDestination, timeout: Duration) throws(IPCError) -> any SyslogConnection {
    switch destination {
    case .local(let path):
        return LocalSyslogConnection(try UnixSocket.connect(to: path, kind: .datagram))
    case .udp(let host, let port):
        return InetSyslogConnection(try InetSyslogConnection.connect(host, port, type: SOCK_DGRAM, timeout: timeout),
                                    octetCounting: false, object: destination.description)
    case .tcp(let host, let port):
        return InetSyslogConnection(try InetSyslogConnection.connect(host, port, type: SOCK_STREAM, timeout: timeout),
                                    octetCounting: true, object: destination.description)
    }
}

final class LocalSyslogConnection: SyslogConnection {
    private let socket: UnixSocket

    init(_ socket: consuming UnixSocket) { self.socket = socket }

    func send(_ message: [UInt8], until deadline: Deadline) throws(IPCError) {
        try withRawBytes(message) { (raw) throws(IPCError) in try socket.send(raw, until: deadline) }
    }
}

final class InetSyslogConnection: SyslogConnection {
    private let descriptor: OwnedDescriptor
    /// TCP: RFC 6587 octet counting, `LENGTH SP MESSAGE`.
    private let octetCounting: Bool
    private let object: String

    init(_ descriptor: consuming OwnedDescriptor, octetCounting: Bool, object: String) {
        self.descriptor = descriptor
        self.octetCounting = octetCounting
        self.object = object
    }

    /// The send timeout is the socket's `SO_SNDTIMEO`, set at the connect.
    func send(_ message: [UInt8], until deadline: Deadline) throws(IPCError) {
        let bytes = octetCounting ? Array("\(message.count) ".utf8) + message : message
        let fd = descriptor.rawValue
        try withRawBytes(bytes) { (raw) throws(IPCError) in try sendAll(fd, raw) }
    }

    private func sendAll(_ fd: CInt, _ raw: UnsafeRawBufferPointer) throws(IPCError) {
        var offset = 0
        while offset < raw.count {
            let n = system_send(fd, raw.baseAddress! + offset, raw.count - offset, CInt(MSG_NOSIGNAL))
            if n < 0 {
                let code = lastErrno
                if code == EINTR { continue }
                let timedOut = code == EAGAIN || code == EWOULDBLOCK
                throw IPCError(Errno(rawValue: timedOut ? ETIMEDOUT : code), operation: "send", object: object,
                               detail: timedOut ? "the collector took nothing in time" : "sending a syslog message")
            }
            offset += n
        }
    }

    static func connect(_ host: String, _ port: UInt16, type: __socket_type, timeout: Duration) throws(IPCError) -> OwnedDescriptor {
        let object = (type == SOCK_STREAM ? "tcp " : "udp ") + "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = CInt(type.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = system_getaddrinfo(host, String(port), &hints, &list)
        if rc != 0 {
            throw IPCError(.noSuchFileOrDirectory, operation: "getaddrinfo", object: object,
                           detail: "cannot resolve the collector: " + String(decoding: UnsafeRawBufferPointer(start: gai_strerror(rc), count: strlen(gai_strerror(rc))), as: UTF8.self))
        }
        defer { freeaddrinfo(list) }
        var lastError = IPCError(.noSuchFileOrDirectory, operation: "getaddrinfo", object: object, detail: "no address")
        var entry = list
        while let address = entry?.pointee {
            entry = address.ai_next
            let fd = system_socket(address.ai_family, address.ai_socktype | CInt(SOCK_CLOEXEC.rawValue), address.ai_protocol)
            if fd < 0 { lastError = IPCError.last("socket", object: object); continue }
            let socket = OwnedDescriptor(adoptingRaw: fd)
            var limit = timeval(tv_sec: Int(timeout.components.seconds),
                                tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
            _ = system_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if system_connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
                lastError = IPCError.last("connect", object: object, detail: "connecting to the collector")
                continue
            }
            return socket
        }
        throw lastError
    }
}
