@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Crashes and hostile clients (SPEC R6, Standards): a server killed mid-call is
/// an error for its caller, never a hang; a client killed mid-call, or one that
/// writes garbage, costs nobody else anything.
@Suite("Doors: servers and clients killed mid-call, hostile clients (R6)")
struct DoorCrashTests {
    @Test("the server SIGKILLed during a call: the caller gets EPIPE naming the server, not a hang")
    func serverKilledMidCall() throws {
        let server = try DoorTestServer()
        let path = server.path
        // The call blocks: on a thread of its own, not on a task of the test pool.
        let caller = try PosixThread<IPCError?, IPCError>.start(name: "door-caller") { () throws(IPCError) -> IPCError? in
            var client = try DoorClient(path: FilePath(path))
            do throws(IPCError) {
                _ = try client.call(Array("hang".utf8), timeout: .seconds(60))
                return nil
            } catch {
                return error
            }
        }
        #expect(try server.session.line() == "in-call")
        _ = try server.session.kill()
        let error = try caller.join()
        #expect(error?.errno == .brokenPipe)
        #expect(error?.detail?.contains("pid \(server.pid)") == true)
    }

    @Test("clients SIGKILLed at random points of their calls, 40 times: the server and a client that calls throughout are unaffected")
    func clientsKilledMidCall() throws {
        let server = try DoorTestServer()
        var steady = try DoorClient(path: FilePath(server.path))
        var random = SystemRandomNumberGenerator()
        for round in 0..<40 {
            let victim = try PeerSession("door-call-loop", [server.path])
            #expect(try victim.line() == "calling")
            // Let the victim make some calls (a random number of the steady client's), then kill it.
            for index in 0..<Int.random(in: 0..<200, using: &random) {
                let arguments = Array("echo:\(round).\(index)".utf8)
                #expect(try steady.call(arguments, timeout: .seconds(30)).bytes == arguments)
            }
            #expect(try victim.kill() == .signalled(SIGKILL, coreDumped: false))
        }
        #expect(try steady.call(Array("echo:still".utf8)).bytes == Array("echo:still".utf8))
        // Every killed client's session ends (within the channel's liveness check).
        #expect(try eventually { try Door.info(at: FilePath(server.path)).clients == 1 })
    }

    @Test("garbage from a client: a hello that is no hello, a call record with a bad header, scribbled channel memory — only that client is dropped")
    func hostileClients() throws {
        let server = try DoorTestServer()
        var steady = try DoorClient(path: FilePath(server.path))

        // Not a hello: the server closes the connection.
        let junk = try UnixSocket.connect(to: FilePath(server.path), kind: .seqPacket)
        try junk.send(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let answer = try buffer.withUnsafeMutableBytes { try junk.receive(into: $0, timeout: .seconds(30)) }
        #expect(answer > 0, "a refusal, then the end")

        // A real hello, then a record too short to be a call, then scribbles.
        let raw = try UnixSocket.connect(to: FilePath(server.path), kind: .seqPacket)
        var welcome = try DoorClient.exchange(raw, .helloCall, until: .after(.seconds(30)), object: "test")
        let remaining = welcome.descriptors.remaining
        #expect(remaining == 2)
        guard let callMemory = welcome.descriptors.take(at: 0) else { return }
        let mapping = try PosixSharedMemory(adopting: try callMemory.duplicate()).map()
        var calls = try SharedMemoryChannel(adopting: callMemory).sender()
        try calls.send([1, 2, 3])
        #expect(try steady.call(Array("echo:a".utf8)).bytes == Array("echo:a".utf8))
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<4096 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            try mapping.write([UInt8(truncatingIfNeeded: seed >> 32)], at: Int(seed % UInt64(mapping.length)))
        }
        #expect(try steady.call(Array("echo:b".utf8)).bytes == Array("echo:b".utf8))
        // The hostile sessions end; the steady client stays.
        #expect(try eventually { try Door.info(at: FilePath(server.path)).clients == 1 })
        #expect(try steady.call(Array("echo:c".utf8)).bytes == Array("echo:c".utf8))
    }

    @Test("a client that calls and never reads its results: its session ends after the reply timeout; the others are served throughout")
    func clientThatNeverReads() throws {
        let server = try DoorTestServer()
        var steady = try DoorClient(path: FilePath(server.path))
        let raw = try UnixSocket.connect(to: FilePath(server.path), kind: .seqPacket)
        var welcome = try DoorClient.exchange(raw, .helloCall, until: .after(.seconds(30)), object: "test")
        guard let callMemory = welcome.descriptors.take(at: 0) else { return }
        var calls = try SharedMemoryChannel(adopting: callMemory).sender()
        // Ten calls for 4000-byte results: their ring (16 KiB) holds three, so the
        // server answers three and then waits (replyTimeout, 5 s) for room that
        // never comes.
        for sequence in 1...10 {
            let header = DoorWire.RecordHeader(sequence: UInt64(sequence))
            let arguments = Array("size:4000".utf8)
            let accepted = try calls.trySend(count: DoorWire.recordHeaderSize + arguments.count) { span in
                span.withUnsafeMutableBytes { buffer in
                    header.store(to: buffer)
                    arguments.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[DoorWire.recordHeaderSize...]).copyMemory(from: $0) }
                }
            }
            #expect(accepted != nil)
        }
        for index in 0..<50 {
            let arguments = Array("echo:steady \(index)".utf8)
            #expect(try steady.call(arguments, timeout: .seconds(30)).bytes == arguments)
        }
        #expect(try eventually { try Door.info(at: FilePath(server.path)).clients == 1 }, "the silent client's session was dropped")
        #expect(try steady.call(Array("echo:after".utf8)).bytes == Array("echo:after".utf8))
    }
}
