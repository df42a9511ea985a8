@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A deadline that only turns a hang into a failure.
func socketTestDeadline() -> Deadline { .after(.seconds(20)) }

@Suite("Unix sockets: pairs, byte streams, messages, connect (S3, S7)", .timeLimit(.minutes(2)))
struct UnixSocketTests {
    @Test("a socket pair echoes across processes", arguments: [UnixSocket.Kind.stream, .seqPacket, .datagram])
    func pairEcho(kind: UnixSocket.Kind) throws {
        let pair = try UnixSocket.pair(kind)
        var spawn = TestPeer.spawn("socket-echo", "3")
        try spawn.inherit(pair.second.descriptor, as: 3)
        var child = try spawn.start()
        try pair.second.close()
        let socket = pair.first

        var buffer = [UInt8](repeating: 0, count: 256)
        for text in ["hello", "full duplex", "x"] {
            try socket.send(Array(text.utf8))
            let reply: [UInt8]
            if kind == .stream {
                let expected = text.utf8.count
                let n = try buffer.withUnsafeMutableBytes { raw in
                    var done = 0
                    while done < expected {
                        let part = try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[done..<expected]), until: socketTestDeadline())
                        if part == 0 { break }
                        done += part
                    }
                    return done
                }
                reply = Array(buffer[..<n])
            } else {
                let n = try buffer.withUnsafeMutableBytes { try socket.receive(into: $0, until: socketTestDeadline()) }
                reply = Array(buffer[..<n])
            }
            #expect(String(decoding: reply, as: UTF8.self) == text)
        }
        if kind == .stream { try socket.shutdown(.write) } else { try socket.send(Array("quit".utf8)) }
        #expect(try child.wait() == .exited(0))
    }

    @Test("seqpacket and datagram keep message boundaries and report truncation",
          arguments: [UnixSocket.Kind.seqPacket, .datagram])
    func boundariesAndTruncation(kind: UnixSocket.Kind) throws {
        let pair = try UnixSocket.pair(kind)
        var spawn = TestPeer.spawn("send-messages", "3", "1", "100", "3000", "5000", "7", "0")
        try spawn.inherit(pair.second.descriptor, as: 3)
        var child = try spawn.start()
        try pair.second.close()
        let socket = pair.first

        var buffer = [UInt8](repeating: 0, count: 4096)
        for (index, size) in [1, 100, 3000].enumerated() {
            let n = try buffer.withUnsafeMutableBytes { try socket.receive(into: $0, until: socketTestDeadline()) }
            #expect(n == size)
            #expect(buffer[..<n].allSatisfy { $0 == UInt8(index + 1) })
        }
        // 5000 bytes do not fit in 4096: an error, never 4096 silent bytes.
        let error = #expect(throws: IPCError.self) {
            _ = try buffer.withUnsafeMutableBytes { try socket.receive(into: $0, until: socketTestDeadline()) }
        }
        #expect(error?.errno == .messageTooLong)
        #expect(error?.detail?.contains("5000 bytes") == true)
        // The next message is intact, and an empty message is a message.
        let next = try socket.receive(upTo: 4096)
        #expect(next == [UInt8](repeating: 5, count: 7))
        #expect(try socket.receive(upTo: 4096) == [])
        #expect(try child.wait() == .exited(0))
    }

    @Test("writing to a peer that closed is EPIPE, never a SIGPIPE death", arguments: [UnixSocket.Kind.stream, .seqPacket])
    func brokenPipe(kind: UnixSocket.Kind) throws {
        // The peer puts SIGPIPE back to its default (deadly) disposition: only
        // MSG_NOSIGNAL keeps it alive.
        let pair = try UnixSocket.pair(kind)
        var spawn = TestPeer.spawn("write-after-eof", "3")
        try spawn.inherit(pair.second.descriptor, as: 3)
        var child = try spawn.start()
        try pair.second.close()
        try pair.first.close()
        #expect(try child.wait() == .exited(EPIPE))

        // And in this process, with every write form.
        let pair2 = try UnixSocket.pair(kind)
        try pair2.second.close()
        let local = pair2.first
        for attempt in 0..<3 {
            let error = #expect(throws: IPCError.self) {
                switch attempt {
                case 0: try local.write(all: [1])
                case 1: try withRawBytes([1]) { (raw) throws(IPCError) in try local.write(all: raw, until: socketTestDeadline()) }
                default: _ = try withRawBytes([1]) { (raw) throws(IPCError) in try local.tryWrite(raw) }
                }
            }
            #expect(error?.errno == .brokenPipe || error?.errno == .connectionReset)
        }
    }

    @Test("shutdown(.write) gives the peer end of file and keeps the other direction")
    func shutdownWrite() throws {
        let pair = try UnixSocket.pair(.stream)
        try pair.first.shutdown(.write)
        #expect(try pair.second.read(upTo: 16) == [])
        try pair.second.write(all: Array("still".utf8))
        #expect(try pair.first.read(upTo: 16) == Array("still".utf8))
    }

    @Test("connect errors: missing path, not a socket, wrong kind")
    func connectErrors() throws {
        let missing = TestObjects.socketPath()
        let error1 = #expect(throws: IPCError.self) { _ = try UnixSocket.connect(to: missing) }
        #expect(error1?.errno == .noSuchFileOrDirectory)
        #expect(error1?.description.hasPrefix("connect(\"\(missing.string)\"): no such file or directory (ENOENT)") == true)

        let plain = TestObjects.socketPath()
        let fd = try FileDescriptor.open(plain, .writeOnly, options: [.create, .exclusiveCreate], permissions: .ownerReadWrite)
        try fd.close()
        defer { TestObjects.remove(.file(plain.string)) }
        let error2 = #expect(throws: IPCError.self) { _ = try UnixSocket.connect(to: plain) }
        #expect(error2?.errno == .connectionRefused || error2?.errno == .notSocket)

        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, kind: .seqPacket, options: .init(removeOnClose: true))
        let error3 = #expect(throws: IPCError.self) { _ = try UnixSocket.connect(to: path, kind: .stream) }
        #expect(error3?.errno == .protocolWrongTypeForSocket)
        try listener.close()
    }

    @Test("a path too long for sun_path is ENAMETOOLONG before any system call")
    func pathTooLong() throws {
        let long = FilePath("/tmp/" + String(repeating: "x", count: UnixSocketAddress.maxPathLength))
        #expect(UnixSocketAddress.maxPathLength == 107)
        // A fault armed on socket() would surface first if the path were checked late.
        FaultInjection.inject(EIO, into: "socket") {
            let error = #expect(throws: IPCError.self) { _ = try UnixSocket.connect(to: long) }
            #expect(error?.errno == .fileNameTooLong)
            #expect(error?.operation == "connect")
        }
        let fits = FilePath("/tmp/" + String(repeating: "y", count: UnixSocketAddress.maxPathLength - 5))
        let error = #expect(throws: IPCError.self) { _ = try UnixSocket.connect(to: fits) }
        #expect(error?.errno == .noSuchFileOrDirectory)
    }

    @Test("time-bounded and async connect when the backlog stays full")
    func connectWithFullBacklog() async throws {
        let path = TestObjects.socketPath()
        let listener = try UnixListener(path: path, options: .init(removeOnClose: true), backlog: 0)
        let first = try await UnixSocket.connectAsync(to: path)  // fills the backlog of 0 (+1)
        let started = ContinuousClock.now
        let error = #expect(throws: IPCError.self) {
            _ = try UnixSocket.connect(to: path, until: .after(.milliseconds(200)))
        }
        #expect(error?.errno == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(30))

        let task = Task { _ = try await UnixSocket.connectAsync(to: path) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }

        // Once the listener accepts, room returns and connect succeeds.
        let accepted = try listener.accept(until: socketTestDeadline())
        let second = try await UnixSocket.connectAsync(to: path)
        try first.close()
        try accepted.close()
        try second.close()
    }

    @Test("an async receive blocked on a quiet peer returns promptly when cancelled")
    func receiveCancellation() async throws {
        let pair = try UnixSocket.pair(.seqPacket)
        let raw = pair.first.descriptor.rawValue
        let task = Task { [socket = consume pair] in
            _ = try await socket.first.receiveAsync(upTo: 16)
        }
        while !Reactor.isWaiting(on: raw) { await Task.yield() }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - cancelledAt < .seconds(30))
    }

    @Test("receive waits are bounded by a deadline; try forms do not wait")
    func receiveDeadline() throws {
        let pair = try UnixSocket.pair(.datagram)
        var buffer = [UInt8](repeating: 0, count: 16)
        let error = #expect(throws: IPCError.self) {
            _ = try buffer.withUnsafeMutableBytes { try pair.first.receive(into: $0, until: .after(.milliseconds(50))) }
        }
        #expect(error?.errno == .timedOut)
        #expect(try buffer.withUnsafeMutableBytes { try pair.first.tryReceive(into: $0) } == nil)
        #expect(try buffer.withUnsafeMutableBytes { try pair.first.tryRead(into: $0) } == nil)
        try pair.second.send(Array("now".utf8))
        #expect(try buffer.withUnsafeMutableBytes { try pair.first.tryReceive(into: $0) } == 3)
    }

    @Test("async read, write and receive move data between processes")
    func asyncForms() async throws {
        let pair = try UnixSocket.pair(.stream)
        var spawn = TestPeer.spawn("socket-echo", "3")
        try spawn.inherit(pair.second.descriptor, as: 3)
        var child = try spawn.start()
        try pair.second.close()
        try await pair.first.writeAsync(all: Array("async".utf8))
        var reply: [UInt8] = []
        while reply.count < 5 { reply += try await pair.first.readAsync(upTo: 16) }
        #expect(reply == Array("async".utf8))
        try pair.first.shutdown(.write)
        #expect(try await child.waitAsync() == .exited(0))
    }

    @Test("adopting a descriptor reads its kind; a non-socket is ENOTSOCK")
    func adopting() throws {
        let pair = try UnixSocket.pair(.seqPacket)
        let adopted = try UnixSocket(adopting: pair.first.descriptor.duplicate())
        #expect(adopted.kind == .seqPacket)
        let pipe = try Pipe()
        let error = #expect(throws: IPCError.self) { _ = try UnixSocket(adopting: pipe.reader.descriptor.duplicate()) }
        #expect(error?.errno == .notSocket)
    }

    @Test("no descriptor leaks across pairs, connections, messages and cancelled waits")
    func noLeaks() async {
        await #expect(processExitsWith: .success) {
            _ = try? Reactor.shared  // its epoll descriptor lives as long as the process
            let before = openDescriptorNumbers()
            for kind in [UnixSocket.Kind.stream, .seqPacket, .datagram] {
                let pair = try UnixSocket.pair(kind)
                try await pair.first.sendAsync([1, 2, 3])
                _ = try? await pair.second.receiveAsync(upTo: 1)  // EMSGSIZE on message kinds
            }
            for _ in 0..<10 {
                let path = TestObjects.socketPath()
                let listener = try UnixListener(path: path, options: .init(removeOnClose: true))
                let client = try await UnixSocket.connectAsync(to: path)
                let server = try await listener.acceptAsync()
                try await client.writeAsync(all: [1])
                _ = try await server.readAsync(upTo: 1)
                _ = try? await UnixSocket.connectAsync(to: TestObjects.socketPath())
                let waiter = Task { [server = consume server] in _ = try await server.readAsync(upTo: 1) }
                waiter.cancel()
                _ = try? await waiter.value
                try client.close()
            }
            exit(descriptorsOpened(since: before).isEmpty ? 0 : 1)
        }
    }
}
