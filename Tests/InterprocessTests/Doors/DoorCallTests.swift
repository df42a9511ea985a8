@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Calls between processes (SPEC R1–R5): bytes and descriptors both ways,
/// credentials, the access policy, information, and every error a caller can meet.
@Suite("Doors: calls, descriptors, credentials and information (R1–R5)")
struct DoorCallTests {
    @Test("bytes go and come back; a descriptor the server opened is usable by the client; one the client passes is used by the server and returned")
    func bytesAndDescriptors() throws {
        let server = try DoorTestServer()
        var client = try DoorClient(path: FilePath(server.path))
        let echo = try client.call(Array("echo:hello door".utf8))
        #expect(echo.bytes == Array("echo:hello door".utf8))
        let noneCame = echo.descriptors.isEmpty
        #expect(noneCame)

        // A file only the server could open (unnamed, O_TMPFILE): read through the returned descriptor.
        var secret = try client.call(Array("secret".utf8))
        #expect(secret.bytes == Array("secret".utf8))
        guard let file = secret.descriptors.takeNext() else {
            Issue.record("no descriptor came back")
            return
        }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(file.rawValue, &buffer, buffer.count)
        #expect(String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self) == "only the server could open this")

        // A pipe's write end goes to the server, which writes into it and returns it.
        let pipe = try Pipe()
        var passed = OwnedDescriptors()
        passed.append(try pipe.writer.descriptor.duplicate())
        var written = try client.call(Array("write:through the door".utf8), descriptors: passed)
        #expect(written.bytes == Array("written".utf8))
        guard let returned = written.descriptors.takeNext() else {
            Issue.record("the descriptor did not come back")
            return
        }
        _ = "!".withCString { write(returned.rawValue, $0, 1) }
        var text = [UInt8](repeating: 0, count: 64)
        let got = read(pipe.reader.descriptor.rawValue, &text, text.count)
        #expect(String(decoding: text.prefix(max(got, 0)), as: UTF8.self) == "through the door!")
    }

    @Test("in place: the arguments are written in the call channel and the result read in the result channel")
    func inPlace() throws {
        let server = try DoorTestServer()
        var client = try DoorClient(path: FilePath(server.path))
        let size = try client.call(count: 9, writing: { buffer in
            buffer.copyMemory(from: UnsafeRawBufferPointer(start: "size:4000", count: 9))
        }, reading: { payload, descriptors in
            let noneCame = descriptors.isEmpty
            #expect(noneCame)
            #expect(payload.allSatisfy { $0 == 0x5A })
            return payload.count
        })
        #expect(size == 4000)
    }

    @Test("credentials come from the kernel: the caller's pid and ids, also for a caller of another user")
    func credentials() throws {
        let server = try DoorTestServer(mode: "666")
        var client = try DoorClient(path: FilePath(server.path))
        let mine = String(decoding: try client.call(Array("whoami".utf8)).bytes, as: UTF8.self)
        #expect(mine == "\(getpid()) \(getuid()) \(geteuid()) \(getgid()) \(getegid())")

        let other = try PeerSession("as-user", ["65534", "door-client", server.path, "whoami"])
        let line = try other.line()
        let fields = line.split(separator: " ")
        #expect(fields.count == 6 && fields[0] == "ok", "\(line)")
        if fields.count == 6 {
            #expect(pid_t(fields[1]) == other.pid, "the peer's own pid")
            #expect(fields[2...5] == ["65534", "65534", "65534", "65534"])
        }
        #expect(try other.finish() == .exited(0))
    }

    @Test("the path's permissions and the access policy refuse a caller with EACCES before any procedure runs")
    func accessRefused() throws {
        let privateDoor = try DoorTestServer(mode: "600")
        let outsider = try PeerSession("as-user", ["65534", "door-client", privateDoor.path, "whoami"])
        #expect(try outsider.line() == "error EACCES open")
        _ = try outsider.finish()

        let restricted = try DoorTestServer(mode: "666", policy: "uid:0")
        let refused = try PeerSession("as-user", ["65534", "door-client", restricted.path, "whoami"])
        #expect(try refused.line() == "error EACCES open")
        _ = try refused.finish()
        var allowed = try DoorClient(path: FilePath(restricted.path))
        #expect(try allowed.call(Array("echo:root".utf8)).bytes == Array("echo:root".utf8))
        #expect(try Door.info(at: FilePath(restricted.path)).isRestricted)
    }

    @Test("errors: the procedure's error travels back; oversize arguments; a timeout, after which a late result is skipped; no server")
    func errors() throws {
        let server = try DoorTestServer()
        var client = try DoorClient(path: FilePath(server.path))
        let failed = #expect(throws: IPCError.self) { _ = try client.call(Array("fail".utf8)) }
        #expect(failed?.errno == .invalidArgument)
        #expect(failed?.operation == "door procedure")
        #expect(failed?.detail?.contains("asked to fail") == true)

        let oversize = #expect(throws: IPCError.self) { _ = try client.call([UInt8](repeating: 1, count: 4097)) }
        #expect(oversize?.errno == .messageTooLong)

        let late = #expect(throws: IPCError.self) { _ = try client.call(Array("hold".utf8), timeout: .milliseconds(200)) }
        #expect(late?.isTimeout == true)
        #expect(try server.session.line() == "held")
        try server.session.send("release")
        #expect(try client.call(Array("echo:after".utf8)).bytes == Array("echo:after".utf8), "the late result was skipped")

        let missing = #expect(throws: IPCError.self) { _ = try DoorClient(path: FilePath(TestObjects.temporaryPath("nodoor"))) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
    }

    @Test("door_info by path and on a session: server pid, procedure, cookie, attributes, clients and calls")
    func information() throws {
        let server = try DoorTestServer()
        var client = try DoorClient(path: FilePath(server.path))
        for _ in 0..<3 { _ = try client.call(Array("echo:x".utf8)) }
        let info = try Door.info(at: FilePath(server.path))
        #expect(info.serverPid == server.pid)
        #expect(info.procedure == "test-door")
        #expect(info.cookie == 42)
        #expect(info.path == server.path)
        #expect(info.notifiesUnreferenced && !info.isRestricted && !info.isRevoked)
        #expect(info.maximumMessageSize == 4096)
        #expect(info.clients == 1)
        #expect(info.callsServed == 3)
        #expect(client.info.serverPid == server.pid)
    }
}
