import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Peer credentials, SO_PEERCRED (S7)", .timeLimit(.minutes(2)))
struct PeerCredentialsTests {
    @Test("an accepted connection reports the connecting peer's pid, uid and gid",
          arguments: [UnixSocket.Kind.stream, .seqPacket])
    func acceptedPeer(kind: UnixSocket.Kind) throws {
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, kind: kind, options: .init(removeOnClose: true))
        let peer = try CapturedPeer(TestPeer.spawn("credentials-client", "\(kind)", path.string))
        let connection = try listener.accept(until: socketTestDeadline())
        let credentials = try connection.peerCredentials
        let said = String(decoding: try connection.read(upTo: 64), as: UTF8.self)
        #expect(credentials == PeerCredentials(pid: peer.pid, uid: getuid(), gid: getgid()))
        #expect(said == "\(peer.pid) \(getuid()) \(getgid())")

        // Seen from the client, the server is this process.
        let client = try UnixSocket.connect(to: path, kind: kind)
        #expect(try client.peerCredentials.pid == getpid())
        try connection.close()
        #expect(try peer.finish().status == .exited(0))
        try client.close()
        try listener.close()
    }

    @Test("a peer that dropped privileges shows its new uid and gid")
    func unprivilegedPeer() throws {
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, options: .init(mode: FilePermissions(rawValue: 0o666), removeOnClose: true))
        let peer = try CapturedPeer(TestPeer.spawn("as-user", "65534", "credentials-client", "stream", path.string))
        let connection = try listener.accept(until: socketTestDeadline())
        #expect(try connection.peerCredentials == PeerCredentials(pid: peer.pid, uid: 65534, gid: 65534))
        #expect(String(decoding: try connection.read(upTo: 64), as: UTF8.self) == "\(peer.pid) 65534 65534")
        try connection.close()
        #expect(try peer.finish().status == .exited(0))
    }

    @Test("both ends of a socket pair report the process that created it")
    func pairCredentials() throws {
        let pair = try UnixSocket.pair(.stream)
        let mine = PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid())
        #expect(try pair.first.peerCredentials == mine)
        #expect(try pair.second.peerCredentials == mine)
    }
}
