@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func uppercased(_ bytes: [UInt8]) -> [UInt8] {
    bytes.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// An upper-casing server on a new well-known FIFO, serving in a task; returns
/// once the FIFO is open, so clients can reach it.
private func startServer(replyTimeout: Duration) async throws -> (path: FilePath, task: Task<Void, any Error>) {
    let path = FilePath(TestObjects.temporaryPath("ipc-server"))
    let (ready, signal) = AsyncStream<Void>.makeStream()
    let task = Task {
        defer { signal.finish() }
        let server = try FIFOServer(path: path, replyTimeout: replyTimeout)
        signal.yield()
        try await server.serve { request in uppercased(request.payload) }
    }
    var iterator = ready.makeAsyncIterator()
    guard await iterator.next() != nil else {
        try await task.value
        throw IPCError(.ioError, operation: "start server")
    }
    return (path, task)
}

/// Stops the server (its pending replies end with it) and removes its FIFO.
private func stop(_ server: (path: FilePath, task: Task<Void, any Error>)) async {
    server.task.cancel()
    let outcome = await result(of: server.task, within: .seconds(30))
    #expect(outcome != nil, "the server did not stop")
    try? FIFO.unlink(server.path)
}

/// `TestPeer.run` without blocking a thread of the pool, which the in-process
/// server needs.
private func run(_ spawn: Spawn) async throws -> (status: ChildStatus, output: String) {
    let pipe = try Pipe()
    let reader = pipe.reader
    let writer = pipe.writer
    var spawn = spawn
    try spawn.inherit(writer.descriptor, as: 1)
    var child = try spawn.start()
    try writer.close()
    let output = try await reader.readToEndAsync()
    let status = try await child.waitAsync()
    return (status, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .newlines))
}

/// Runs a blocking call on a worker of the waiting engine, so the pool stays free
/// for the in-process server.
private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws(IPCError) -> T) async throws -> T {
    try await WaitingEngine.wait { Result { () throws(IPCError) in try body() } }!.get()
}

@Suite("FIFO client–server (S5)")
struct FIFOServerTests {
    @Test("several client processes get their replies while a rogue client's reply is pending")
    func clientsAndRogue() async throws {
        let server = try await startServer(replyTimeout: .seconds(60))

        // The rogue sends a request and never opens its reply FIFO.
        let rogueInput = try Pipe(), rogueOutput = try Pipe()
        let fromRogue = rogueOutput.reader
        let rogueStdout = rogueOutput.writer
        var spawn = TestPeer.spawn("fifo-rogue", server.path.string)
        try spawn.inherit(rogueInput.reader.descriptor, as: 0)
        try spawn.inherit(rogueStdout.descriptor, as: 1)
        var rogue = try spawn.start()
        try rogueInput.reader.close()
        try rogueStdout.close()
        #expect(try await fromRogue.readAsync(upTo: 5) == Array("sent\n".utf8))

        // Then the honest clients, whose requests come after the rogue's.
        let start = Deadline.now
        let output = try Pipe()
        var clients = ChildProcessSet()
        for i in 0..<5 {
            var client = TestPeer.spawn("fifo-call", server.path.string, "client \(i)")
            try client.inherit(output.writer.descriptor, as: 1)
            try clients.start(client)
        }
        try output.writer.close()
        let replies = String(decoding: try await output.reader.readToEndAsync(), as: UTF8.self)
        let elapsed = Deadline.now.nanoseconds - start.nanoseconds
        while !clients.isEmpty {
            #expect(try await clients.waitAnyAsync().status == .exited(0))
        }
        #expect(Set(replies.split(separator: "\n").map(String.init)) == Set((0..<5).map { "CLIENT \($0)" }))
        // A server that waited for the rogue would take the whole 60 s reply timeout.
        #expect(elapsed < 30_000_000_000)

        await stop(server)
        try rogueInput.writer.close()
        #expect(try await rogue.waitAsync() == .exited(0))
    }

    @Test("malformed requests are skipped and the server keeps serving")
    func malformedRequests() async throws {
        let server = try await startServer(replyTimeout: .seconds(5))
        // A reply FIFO name that is a regular file: the server must not write into it.
        let trap = FIFOServer.replyPath(server: server.path, pid: 2_147_483_645)
        close(open(trap.string, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
        defer { TestObjects.remove(.file(trap.string)) }

        let garbage: [[UInt8]] = [
            Array("hello\n".utf8), Array("abc def\n".utf8), Array("0 zero\n".utf8), Array("-5 negative\n".utf8),
            Array("007 leading zero\n".utf8), Array("../../etc/passwd x\n".utf8), Array("99999999999 too big\n".utf8),
            Array("2147483646 no reply fifo\n".utf8), Array("2147483645 regular file\n".utf8), Array("\n \n".utf8),
            [UInt8](repeating: 0x31, count: 5000) + [0x20, 0x78, 0x0A], [0xFF, 0xFE, 0x00, 0x0A],
        ]
        for bytes in garbage {
            #expect(try await run(TestPeer.spawn("fifo-send-hex", server.path.string, hex(bytes))).status == .exited(0))
        }
        let good = try await run(TestPeer.spawn("fifo-call", server.path.string, "after garbage"))
        #expect(good.status == .exited(0))
        #expect(good.output == "AFTER GARBAGE")

        await stop(server)  // waits for every reply task
        var info = stat()
        #expect(lstat(trap.string, &info) == 0 && info.st_size == 0)
    }

    /// Every in-process call is in this one test: a process makes one call at a
    /// time (the reply FIFO is named by the pid).
    @Test("in-process calls: async and time-bounded, limits, leftovers, no server")
    func inProcessCalls() async throws {
        let server = try await startServer(replyTimeout: .seconds(5))
        let replyPath = FIFOServer.replyPath(server: server.path, pid: getpid())

        #expect(try await FIFOClient.callAsync(server.path, Array("async hello".utf8)) == Array("ASYNC HELLO".utf8))

        let largest = [UInt8](repeating: 0x61, count: FIFOClient.maxPayloadLength)
        let path = server.path
        #expect(try await onOwnThread { () throws(IPCError) in
            try FIFOClient.call(path, largest, until: .after(.seconds(30)))
        } == uppercased(largest))

        let tooLarge = #expect(throws: IPCError.self) {
            _ = try FIFOClient.call(server.path, largest + [0x61], until: .after(.seconds(30)))
        }
        #expect(tooLarge?.errno == .messageTooLong)
        let newline = #expect(throws: IPCError.self) {
            _ = try FIFOClient.call(server.path, Array("two\nlines".utf8), until: .after(.seconds(30)))
        }
        #expect(newline?.errno == .invalidArgument)

        // A reply FIFO left by a dead process with this pid is replaced.
        try FIFO.create(at: replyPath)
        #expect(try await onOwnThread { () throws(IPCError) in
            try FIFOClient.call(path, Array("again".utf8), until: .after(.seconds(30)))
        } == Array("AGAIN".utf8))
        #expect(try !FIFO.isFIFO(replyPath))

        // A reply longer than the client accepts.
        let long = await #expect(throws: IPCError.self) {
            _ = try await onOwnThread { () throws(IPCError) in
                try FIFOClient.call(path, Array("abcdef".utf8), until: .after(.seconds(30)), maxReplyLength: 3)
            }
        }
        #expect(long?.errno == .messageTooLong)

        server.task.cancel()
        #expect(await result(of: server.task, within: .seconds(30)) != nil, "the server did not stop")
        let noServer = #expect(throws: IPCError.self) {
            _ = try FIFOClient.call(server.path, Array("anyone?".utf8), until: .after(.seconds(5)))
        }
        #expect(noServer?.errno == .noSuchAddressOrDevice, "\(String(describing: noServer))")
        try FIFO.unlink(server.path)
        let noFIFO = #expect(throws: IPCError.self) {
            _ = try FIFOClient.call(server.path, Array("anyone?".utf8), until: .after(.seconds(5)))
        }
        #expect(noFIFO?.errno == .noSuchFileOrDirectory)
        #expect(try !FIFO.isFIFO(replyPath))
    }
}
