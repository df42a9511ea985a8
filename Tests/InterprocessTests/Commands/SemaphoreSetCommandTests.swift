import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc semset` (SPEC Y3), run as a process.
@Suite("ipc semset")
struct SemaphoreSetCommandTests {
    @Test("create prints the id; op, get, set and rm act on the set the library sees")
    func roundTrip() throws {
        let key = TestObjects.systemVKey().description
        let created = try IPCTool.run(["semset", "create", "--key", key, "--count", "3", "--values", "1,0,2", "--mode", "640"])
        #expect(created.status == .exited(0), "\(created.stderr)")
        let id = try #require(Int32(created.stdout.trimmingCharacters(in: .newlines)))
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        let set = try SystemVSemaphoreSet(id: id)
        #expect(try set.values() == [1, 0, 2])
        #expect(try set.status().permissions.mode.rawValue == 0o640)
        #expect(try set.status().lastOperationTime != nil, "initialised")

        #expect(try IPCTool.run(["semset", "op", "--key", key, "0:-1", "1:+1", "2:-2"]).status == .exited(0))
        #expect(try set.values() == [0, 1, 0])
        #expect(try IPCTool.run(["semset", "get", "--key", key]).stdout == "0,1,0\n")
        #expect(try IPCTool.run(["semset", "get", "--id", "\(id)", "--member", "1"]).stdout == "1\n")
        #expect(try IPCTool.run(["semset", "set", "--key", key, "--member", "2", "--value", "5"]).status == .exited(0))
        #expect(try set.value(of: 2) == 5)
        #expect(try IPCTool.run(["semset", "set", "--key", key, "--values", "3,2,1"]).status == .exited(0))
        #expect(try set.values() == [3, 2, 1])

        #expect(try IPCTool.run(["semset", "rm", "--key", key]).status == .exited(0))
        #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet(id: id) }
    }

    @Test("op exits 2 when it would block or times out, changing nothing; a waiting op is woken; --undo is undone at exit")
    func waitingAndUndo() throws {
        let set = try makeSemaphoreSet([1, 0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let id = "\(set.id)"
        let wouldBlock = try IPCTool.run(["semset", "op", "--id", id, "--nowait", "0:-1", "1:-1"])
        #expect(wouldBlock.status == .exited(2))
        #expect(wouldBlock.stderr.contains("would block"), "\(wouldBlock.stderr)")
        let timedOut = try IPCTool.run(["semset", "op", "--id", id, "--timeout", "0.05", "0:-1", "1:-1"])
        #expect(timedOut.status == .exited(2))
        #expect(timedOut.stderr.contains("timed out"), "\(timedOut.stderr)")
        #expect(try set.values() == [1, 0], "all or nothing")

        var waiter = try Spawn(IPCTool.path, arguments: ["semset", "op", "--id", id, "--timeout", "60", "0:-1", "1:-1"]).start()
        #expect(try eventually { try set.waitingForIncrease(of: 1) == 1 })
        try set.perform(.add(to: 1))
        #expect(try waiter.wait() == .exited(0))
        #expect(try set.values() == [0, 0])

        #expect(try IPCTool.run(["semset", "op", "--id", id, "1:+1"]).status == .exited(0))
        let undone = try IPCTool.run(["semset", "op", "--id", id, "--undo", "1:-1"])
        #expect(undone.status == .exited(0))
        #expect(try set.value(of: 1) == 1, "the unit taken with --undo came back when ipc exited")
        #expect(try set.lastPID(of: 1) == undone.pid)
    }

    @Test("stat shows owner, mode, times and each member's value, waiters and last pid, as text and JSON")
    func stat() throws {
        let set = try makeSemaphoreSet([0, 4])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let key = try set.status().permissions.key.description
        let waiter = try PeerSession("semset-op", ["\(set.id)", "0:-1"])
        #expect(try eventually { try set.waitingForIncrease(of: 0) == 1 })

        let text = try IPCTool.run(["semset", "stat", "--key", key])
        #expect(text.status == .exited(0), "\(text.stderr)")
        #expect(text.stdout.contains("key: \(key)"))
        #expect(text.stdout.contains("mode: 0600"))
        #expect(text.stdout.contains("members: 2"))
        #expect(text.stdout.contains("     0      0     1     0  \(getpid())"), "\(text.stdout)")
        #expect(text.stdout.contains("     1      4     0     0  \(getpid())"), "\(text.stdout)")

        let json = try IPCTool.run(["semset", "stat", "--id", "\(set.id)", "--json"])
        #expect(json.status == .exited(0))
        #expect(json.stdout.contains("\"id\": \(set.id)"))
        #expect(json.stdout.contains("\"mode\": \"0600\""))
        #expect(json.stdout.contains("\"count\": 2"))
        #expect(json.stdout.contains("\"ncnt\": 1"))
        #expect(json.stdout.contains("\"value\": 4"))

        try set.perform(.add(to: 0))
        #expect(try waiter.line() == "ok")
        #expect(try waiter.finish() == .exited(0))
    }

    @Test("a set another program made with plain semget (never operated on) is driven by key at once")
    func foreignSet() throws {
        let key = TestObjects.systemVKey()
        let made = try TestPeer.run(TestPeer.spawn("sysv-make", "sem", key.description, "600"))
        let id = try #require(Int32(made.output))
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        let get = try IPCTool.run(["semset", "get", "--key", key.description])
        #expect(get.status == .exited(0) && get.stdout.hasPrefix("0"), "not waiting for an initialisation mark: \(get.stderr)")
        let op = try IPCTool.run(["semset", "op", "--key", key.description, "0:+2"])
        #expect(op.status == .exited(0), "\(op.stderr)")
        #expect(try SystemVSemaphoreSet(id: id).values() == [2])
    }

    @Test("bad input is a clear error with a non-zero exit")
    func errors() throws {
        let key = TestObjects.systemVKey().description
        let badProject = try IPCTool.run(["semset", "get", "--path", "/tmp", "--proj", "256"])
        #expect(badProject.status == .exited(64) && badProject.stderr.contains("1 to 255"), "\(badProject.stderr)")
        let waitingBoth = try IPCTool.run(["semset", "op", "--key", key, "--nowait", "--timeout", "1", "0:-1"])
        #expect(waitingBoth.status == .exited(64) && waitingBoth.stderr.contains("exclude each other"), "\(waitingBoth.stderr)")
        let missing = try IPCTool.run(["semset", "get", "--key", key])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("(ENOENT)"), "\(missing.stderr)")
        let badValues = try IPCTool.run(["semset", "create", "--key", key, "--count", "2", "--values", "1,x"])
        #expect(badValues.status != .exited(0))
        let tooBig = try IPCTool.run(["semset", "create", "--key", key, "--count", "1", "--values", "40000"])
        #expect(tooBig.status == .exited(64))
        #expect(tooBig.stderr.contains("0 to 32767 (SEMVMX)"), "\(tooBig.stderr)")

        let created = try IPCTool.run(["semset", "create", "--key", key, "--count", "2"])
        let id = try #require(Int32(created.stdout.trimmingCharacters(in: .newlines)))
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        let exists = try IPCTool.run(["semset", "create", "--key", key, "--count", "2"])
        #expect(exists.status == .exited(1))
        #expect(exists.stderr.contains("(EEXIST)"))
        let member = try IPCTool.run(["semset", "op", "--key", key, "5:+1"])
        #expect(member.status == .exited(1))
        #expect(member.stderr.contains("(EFBIG)") && member.stderr.contains("member 5"), "\(member.stderr)")
        let badOperation = try IPCTool.run(["semset", "op", "--key", key, "zero"])
        #expect(badOperation.status == .exited(64))
        #expect(badOperation.stderr.contains("MEMBER:DELTA"), "\(badOperation.stderr)")
        let count = try IPCTool.run(["semset", "set", "--key", key, "--values", "1,2,3"])
        #expect(count.status == .exited(1))
        #expect(count.stderr.contains("(EINVAL)"))
        let both = try IPCTool.run(["semset", "set", "--key", key, "--member", "0"])
        #expect(both.status != .exited(0))
    }
}
