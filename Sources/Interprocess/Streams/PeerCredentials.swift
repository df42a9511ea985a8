#if canImport(Glibc)
import Glibc
#endif

/// Who is at the other end of a Unix socket: process id, user id and group id
/// (SPEC S7), as the kernel recorded them — they cannot be forged by the peer.
public struct PeerCredentials: Hashable, Sendable, CustomStringConvertible {
    public var pid: pid_t
    public var uid: uid_t
    public var gid: gid_t

    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid), uid \(uid), gid \(gid)" }
}

extension UnixSocket {
    /// The credentials of the peer of a connected stream or seqpacket socket, or of
    /// a socket pair.
    ///
    /// They are the ones the peer had when it called `connect` (for the client
    /// seen from an accepted socket), `listen` (for the server seen from the
    /// client), or `socketpair` (both ends of a pair: the creating process) —
    /// not the peer's current ones.
    ///
    /// The corresponding C call is `getsockopt(fd, SOL_SOCKET, SO_PEERCRED, …)`.
    public var peerCredentials: PeerCredentials {
        get throws(IPCError) {
            var pid = pid_t(), uid = uid_t(), gid = gid_t()
            if system_peerCredentials(descriptor.rawValue, &pid, &uid, &gid) != 0 {
                throw IPCError.last("getsockopt(SO_PEERCRED)", fd: descriptor.rawValue)
            }
            return PeerCredentials(pid: pid, uid: uid, gid: gid)
        }
    }
}
