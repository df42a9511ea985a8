@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The permission bits and type of the file at `path` (lstat).
func fileMode(_ path: FilePath) -> (mode: mode_t, isSocket: Bool)? {
    var info = stat()
    guard lstat(path.string, &info) == 0 else { return nil }
    return (info.st_mode & 0o7777, info.st_mode & S_IFMT == S_IFSOCK)
}

/// This process's umask, read without changing it (`Umask:` in /proc/self/status).
func processUmask() -> mode_t {
    guard let file = fopen("/proc/self/status", "r") else { return 0o022 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, CInt(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("Umask:") {
            return mode_t(String(text.dropFirst(6).filter { $0.isNumber }), radix: 8) ?? 0o022
        }
    }
    return 0o022
}

@Suite("Unix socket listeners and bound sockets (S7)", .timeLimit(.minutes(2)))
struct UnixListenerTests {
    @Test("a peer connects by path and talks to the listener", arguments: [UnixSocket.Kind.stream, .seqPacket])
    func listenerAndClient(kind: UnixSocket.Kind) async throws {
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, kind: kind, options: .init(removeOnClose: true))
        #expect(listener.address.path == path)
        let peer = try CapturedPeer(TestPeer.spawn("socket-client", "\(kind)", path.string, "ping"))

        let connection = try await listener.acceptAsync()
        #expect(connection.kind == kind)
        #expect(try connection.isCloseOnExecForTest)
        var request: [UInt8] = []
        if kind == .stream {
            while true {
                let part = try await connection.readAsync(upTo: 64)
                if part.isEmpty { break }
                request += part
            }
        } else {
            request = try await connection.receiveAsync(upTo: 64)
        }
        #expect(String(decoding: request, as: UTF8.self) == "ping")
        try await connection.sendAsync(Array("PONG".utf8))
        try connection.close()

        let (status, output) = try peer.finish()
        #expect(status == .exited(0))
        #expect(output == "PONG")
        try listener.close()
        #expect(fileMode(path) == nil, "removeOnClose left the socket file")
    }

    @Test("a bound datagram socket answers the sender at its bound address")
    func datagramReply() throws {
        let serverPath = TestObjects.socketPath(), clientPath = TestObjects.socketPath()
        let server = try UnixSocket.bind(to: serverPath, options: .init(removeOnClose: true))
        #expect(try server.localAddress.path == serverPath)
        let peer = try CapturedPeer(TestPeer.spawn("datagram-client", serverPath.string, clientPath.string, "hello"))

        var buffer = [UInt8](repeating: 0, count: 64)
        let (count, sender) = try buffer.withUnsafeMutableBytes { try server.receiveFrom(into: $0, until: socketTestDeadline()) }
        #expect(String(decoding: buffer[..<count], as: UTF8.self) == "hello")
        #expect(sender.path == clientPath)
        try server.send(Array("HELLO".utf8), to: sender)

        let (status, output) = try peer.finish()
        #expect(status == .exited(0))
        #expect(output == "HELLO from \(serverPath.string)")
        #expect(fileMode(clientPath) == nil, "the peer's removeOnClose left its socket file")
    }

    @Test("the socket file is 0600 by default, exactly the asked mode otherwise")
    func modes() throws {
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, options: .init(removeOnClose: true))
        #expect(fileMode(path)?.mode == 0o600)
        #expect(fileMode(path)?.isSocket == true)

        // 0666 is looser than the usual umask 022: the file still ends with 0666.
        let open = TestObjects.socketPath()
        let datagram = try UnixSocket.bind(to: open, options: .init(mode: FilePermissions(rawValue: 0o666), removeOnClose: true))
        #expect(fileMode(open)?.mode == 0o666)

        let error = #expect(throws: IPCError.self) {
            _ = try UnixListener(path: TestObjects.socketPath(), options: .init(mode: FilePermissions(rawValue: 0o4700)))
        }
        #expect(error?.errno == .invalidArgument)
        try listener.close()
        try datagram.close()
    }

    @Test("the socket file is born with its mode: no chmod after bind is needed to tighten it")
    func bornWithMode() throws {
        // With the usual umask (022 or 077), a 0600 file needs no chmod after bind;
        // a failing chmod would surface if the file had been created looser.
        let path = TestObjects.socketPath()
        try FaultInjection.inject(EIO, into: "fchmodat") { () throws(IPCError) in
            let listener = try UnixListener(path: path, options: .init(removeOnClose: true))
            #expect(fileMode(path)?.mode == 0o600)
            try listener.close()
        }
        // A mode the umask narrows is widened after bind; if that fails, the file
        // the failed bind made is removed.
        guard processUmask() & 0o777 != 0 else { return }
        let wide = TestObjects.socketPath()
        let error = #expect(throws: IPCError.self) {
            try FaultInjection.inject(EIO, into: "fchmodat") { () throws(IPCError) in
                _ = try UnixListener(path: wide, options: .init(mode: FilePermissions(rawValue: 0o777)))
            }
        }
        #expect(error?.errno == .ioError)
        #expect(fileMode(wide) == nil)
    }

    @Test("a 0600 socket refuses an unprivileged peer (EACCES); 0666 lets it in",
          arguments: [UnixSocket.Kind.stream, .seqPacket, .datagram])
    func permissions(kind: UnixSocket.Kind) throws {
        let closed = TestObjects.socketPath(), open = TestObjects.socketPath()
        let options = UnixSocketBindOptions(removeOnClose: true)
        let openOptions = UnixSocketBindOptions(mode: FilePermissions(rawValue: 0o666), removeOnClose: true)
        if kind == .datagram {
            let a = try UnixSocket.bind(to: closed, options: options)
            let b = try UnixSocket.bind(to: open, options: openOptions)
            try expectConnect(kind, closed, asUser: true, status: .exited(EACCES))
            try expectConnect(kind, open, asUser: true, status: .exited(0))
            try a.close()
            try b.close()
        } else {
            let a = try UnixListener(path: closed, kind: kind, options: options)
            let b = try UnixListener(path: open, kind: kind, options: openOptions)
            try expectConnect(kind, closed, asUser: true, status: .exited(EACCES))
            try expectConnect(kind, closed, asUser: false, status: .exited(0))
            try expectConnect(kind, open, asUser: true, status: .exited(0))
            try a.close()
            try b.close()
        }
    }

    private func expectConnect(_ kind: UnixSocket.Kind, _ path: FilePath, asUser: Bool, status: ChildStatus) throws {
        let spawn = asUser
            ? TestPeer.spawn("as-user", "65534", "connect-errno", "\(kind)", path.string)
            : TestPeer.spawn("connect-errno", "\(kind)", path.string)
        #expect(try TestPeer.run(spawn).status == status, "\(kind) \(path) as-user \(asUser)")
    }

    @Test("an existing path is never replaced, except a stale socket when asked")
    func existingPaths() throws {
        // A regular file: EADDRINUSE, and the file is untouched.
        let plain = TestObjects.socketPath()
        let fd = try FileDescriptor.open(plain, .writeOnly, options: [.create, .exclusiveCreate], permissions: .ownerReadWrite)
        try fd.writeAll(Array("keep".utf8))
        try fd.close()
        defer { TestObjects.remove(.file(plain.string)) }
        for replacing in [false, true] {
            let error = #expect(throws: IPCError.self) {
                _ = try UnixListener(path: plain, options: .init(replacingStaleSocket: replacing))
            }
            #expect(error?.errno == .addressInUse)
        }
        #expect(fileMode(plain)?.isSocket == false)

        // A live socket: EADDRINUSE even when replacing stale ones.
        let live = TestObjects.socketPath()
        let listener = try UnixListener(path: live, options: .init(removeOnClose: true))
        let error = #expect(throws: IPCError.self) {
            _ = try UnixListener(path: live, options: .init(replacingStaleSocket: true))
        }
        #expect(error?.errno == .addressInUse)
        #expect(error?.detail?.contains("listening") == true)
        _ = try UnixSocket.connect(to: live)  // still the original listener

        // A stale socket (closed without removing its file): replaced only when asked.
        let stale = TestObjects.socketPath()
        try UnixListener(path: stale).close()
        #expect(fileMode(stale)?.isSocket == true)
        let refused = #expect(throws: IPCError.self) { _ = try UnixListener(path: stale) }
        #expect(refused?.errno == .addressInUse)
        let fresh = try UnixListener(path: stale, options: .init(replacingStaleSocket: true, removeOnClose: true))
        let client = try UnixSocket.connect(to: stale)
        _ = try fresh.accept(until: socketTestDeadline())
        try listener.close()
        try client.close()
    }

    @Test("removeOnClose removes only the file the listener created")
    func removeOnClose() throws {
        let kept = TestObjects.socketPath()
        try UnixListener(path: kept).close()
        #expect(fileMode(kept) != nil)
        _ = unlink(kept.string)

        // Someone replaced the file: closing must not remove theirs.
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, options: .init(removeOnClose: true))
        #expect(unlink(path.string) == 0)
        let other = try UnixListener(path: path)
        try listener.close()
        #expect(fileMode(path)?.isSocket == true)
        try other.close()
        _ = unlink(path.string)
    }

    @Test("accept waits are bounded by a deadline and cancel promptly")
    func acceptForms() async throws {
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, options: .init(removeOnClose: true))
        #expect(try listener.tryAccept() == nil)
        let error = #expect(throws: IPCError.self) { _ = try listener.accept(until: .after(.milliseconds(50))) }
        #expect(error?.errno == .timedOut)

        let raw = listener.descriptor.rawValue
        let task = Task { [listener = consume listener] in _ = try await listener.acceptAsync() }
        while !Reactor.isWaiting(on: raw) { await Task.yield() }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - cancelledAt < .seconds(30))
    }

    @Test("a datagram listener is refused before any system call")
    func datagramListener() throws {
        let path = TestObjects.socketPath()
        let error = #expect(throws: IPCError.self) { _ = try UnixListener(path: path, kind: .datagram) }
        #expect(error?.errno == .notSupportedOnSocket)
        #expect(fileMode(path) == nil)
    }

    @Test("abstract names and autobind need no file")
    func abstractNamespace() throws {
        let name = try UnixSocketAddress(abstractName: TestObjects.name("ipc-test"))
        let listener = try UnixListener(address: name)
        #expect(listener.address == name)
        let client = try UnixSocket.connect(to: name)
        let server = try listener.accept(until: socketTestDeadline())
        #expect(try server.localAddress == name)
        try client.write(all: [7])
        #expect(try server.read(upTo: 1) == [7])

        // Autobind: the kernel picks a unique abstract name the peer can answer.
        let receiver = try UnixSocket.bind(to: .unnamed)
        let sender = try UnixSocket.bind(to: .unnamed)
        let senderAddress = try sender.localAddress
        #expect(senderAddress.abstractName != nil)
        try sender.send([1], to: receiver.localAddress)
        let (bytes, from) = try receiver.receiveFrom(upTo: 4)
        #expect(bytes == [1] && from == senderAddress)
    }
}

extension UnixSocket {
    var isCloseOnExecForTest: Bool { get throws { try descriptor.isCloseOnExec } }
}
