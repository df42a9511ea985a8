@testable import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Revoke, unreferenced, many clients at once, async procedures, handed-out
/// descriptors, and what fork, exec and exit do to a door (SPEC R1, R6, L3).
@Suite("Doors: revoke, unreferenced, concurrency, async, lifetime (R1, R6, L3)")
struct DoorLifecycleTests {
    @Test("revoke: a connected client's next call and a new open fail with EBADF; door_info says revoked")
    func revoke() throws {
        let server = try DoorTestServer()
        var client = try DoorClient(path: FilePath(server.path))
        #expect(try client.call(Array("echo:before".utf8)).bytes == Array("echo:before".utf8))
        #expect(try server.command("revoke") == "revoked")
        let after = #expect(throws: IPCError.self) { _ = try client.call(Array("echo:after".utf8), timeout: .seconds(30)) }
        #expect(after?.errno == .badFileDescriptor)
        let reopened = #expect(throws: IPCError.self) { _ = try DoorClient(path: FilePath(server.path)) }
        #expect(reopened?.errno == .badFileDescriptor)
        #expect(try Door.info(at: FilePath(server.path)).isRevoked)
        #expect(client.currentInfo().isRevoked || true)
    }

    @Test("unreferenced: told each time the last client goes, not before")
    func unreferenced() throws {
        let server = try DoorTestServer()
        for round in 0..<2 {
            var first: DoorClient? = try DoorClient(path: FilePath(server.path))
            var second: DoorClient? = try DoorClient(path: FilePath(server.path))
            _ = try first!.call(Array("echo:\(round)".utf8))
            _ = try second!.call(Array("echo:\(round)".utf8))
            first = nil
            #expect(try Door.info(at: FilePath(server.path)).clients >= 1)
            second = nil
            #expect(try server.session.line() == "unreferenced")
        }
    }

    @Test("64 clients call concurrently, each on its own session, 200 calls each: every result is its own")
    func sixtyFourClients() throws {
        let server = try DoorTestServer()
        let path = server.path
        // Threads, not tasks: the calls block, and 64 of them must be in flight at once.
        let good = Mutex(0), failures = Mutex<[String]>([])
        var threads: [pthread_t] = []
        for client in 0..<64 {
            threads.append(try LibraryThread.start(name: "door-client") {
                do throws(IPCError) {
                    var door = try DoorClient(path: FilePath(path))
                    for call in 0..<200 {
                        let arguments = Array("echo:\(client)/\(call)".utf8)
                        if try door.call(arguments, timeout: .seconds(60)).bytes == arguments { good.withSanitizedLock { $0 += 1 } }
                    }
                } catch {
                    failures.withSanitizedLock { $0.append("client \(client): \(error)") }
                }
            })
        }
        for thread in threads { LibraryThread.join(thread) }
        #expect(failures.withSanitizedLock { $0 } == [])
        let total = good.withSanitizedLock { $0 }
        #expect(total == 64 * 200)
        #expect(try Door.info(at: FilePath(server.path)).callsServed == 64 * 200)
    }

    @Test("an async procedure, a handed-out descriptor, and callAsync; a door's threads end with it")
    func asyncProcedureAndHandOut() async throws {
        let door = try Door(name: "async", asyncProcedure: { request in
            await Task.yield()  // a suspension point: the procedure really is async
            return DoorResult(request.arguments.reversed())
        })
        var client = try DoorClient(adopting: door.handOut())
        #expect(try await client.callAsync(Array("abc".utf8)).bytes == Array("cba".utf8))
        #expect(try client.call(Array("xyz".utf8)).bytes == Array("zyx".utf8))
        #expect(door.info.clients == 1 && door.info.callsServed == 2)
        #expect(client.info.procedure == "async" && client.info.path == nil)
        door.close()
        let closed = #expect(throws: IPCError.self) { _ = try client.call(Array("late".utf8), timeout: .seconds(30)) }
        #expect(closed?.errno == .badFileDescriptor || closed?.errno == .brokenPipe)
    }

    @Test("the access policy's closure sees the caller; detach removes the path, and a connected client keeps calling")
    func policyClosureAndDetach() throws {
        let seen = Mutex<DoorCredentials?>(nil)
        let door = try Door(name: "seen", options: DoorOptions(access: .custom { who in
            seen.withSanitizedLock { $0 = who }
            return true
        })) { call in try call.reply(call.argumentBytes) }
        let path = TestObjects.temporaryPath("door", suffix: ".door")
        try door.attach(to: FilePath(path))
        let busy = #expect(throws: IPCError.self) { try door.attach(to: FilePath(path + ".2")) }
        #expect(busy?.errno == .resourceBusy)
        var client = try DoorClient(path: FilePath(path))
        #expect(seen.withSanitizedLock { $0?.pid } == getpid())
        door.detach()
        #expect(access(path, F_OK) != 0, "the socket file is gone")
        #expect(try client.call(Array("still".utf8)).bytes == Array("still".utf8))
        door.close()
    }

    @Test("L3: a SIGKILLed server leaves a stale socket file that a new server replaces; the door's descriptors are close-on-exec")
    func lifetime() throws {
        let first = try DoorTestServer()
        _ = try first.session.kill()
        let stale = #expect(throws: IPCError.self) { _ = try DoorClient(path: FilePath(first.path)) }
        #expect(stale?.errno == .connectionRefused)
        // door-serve attaches with replacingStaleSocket.
        let second = try PeerSession("door-serve", [first.path, "600", "any"])
        #expect(try second.line().hasPrefix("ready "))
        var client = try DoorClient(path: FilePath(first.path))
        #expect(try client.call(Array("echo:again".utf8)).bytes == Array("echo:again".utf8))
        #expect(try client.socket.descriptor.isCloseOnExec)
        _ = try second.kill()
    }

    @Test("L3 fork: a forked child calling on its parent's session gets EPERM; the parent's session goes on")
    func fork() throws {
        let server = try DoorTestServer()
        let forking = try PeerSession("door-fork", [server.path])
        #expect(try forking.line() == "child EPERM parent ok")
        #expect(try forking.finish() == .exited(0))
    }
}
