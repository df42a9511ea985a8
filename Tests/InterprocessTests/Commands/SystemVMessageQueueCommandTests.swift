import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc msg` (SPEC M3), run as a process the way a person runs it. Each run is a
/// process of its own, so every message also crosses processes and outlives its
/// sender (SPEC V3).
@Suite("ipc msg")
struct SystemVMessageQueueCommandTests {
    @Test("create prints the id; send (argument and stdin) with types; recv --type -2 / 3; stat and stat --json; rm")
    func roundTrip() throws {
        let key = "\(TestObjects.systemVKey())"
        let created = try IPCTool.run(["msg", "create", "--key", key, "--mode", "640"])
        #expect(created.status == .exited(0), "\(created.stderr)")
        let id = try #require(Int32(created.stdout.trimmingCharacters(in: .newlines)), "\(created.stdout)")
        defer { TestObjects.remove(.systemV(.messageQueue, id: id)) }
        #expect(try SystemVMessageQueue.open(key: IPCKey(parsing: key)).id == id)

        #expect(try IPCTool.run(["msg", "send", "--key", key, "ship 3 crates", "--type", "3"]).status == .exited(0))
        let piped = try IPCTool.run(["msg", "send", "--id", "\(id)", "--type", "1"], input: Array("from stdin\n".utf8))
        #expect(piped.status == .exited(0), "\(piped.stderr)")

        let stat = try IPCTool.run(["msg", "stat", "--id", "\(id)"])
        #expect(stat.status == .exited(0), "\(stat.stderr)")
        for line in ["id: \(id)", "key: \(key)", "mode: 0640", "messages: 2", "bytes: 24", "last receiver pid: -"] {
            #expect(stat.stdout.contains(line + "\n"), "\(line) in \(stat.stdout)")
        }

        let lowest = try IPCTool.run(["msg", "recv", "--key", key, "--type", "-2"])
        #expect(lowest.status == .exited(0), "\(lowest.stderr)")
        #expect(lowest.stdout == "from stdin\n", "the text as it is; no second newline")
        let typed = try IPCTool.run(["msg", "recv", "--key", key, "--type", "3", "--show-type"])
        #expect(typed.stdout == "type 3: ship 3 crates\n")

        let json = try IPCTool.run(["msg", "stat", "--key", key, "--json"])
        #expect(json.status == .exited(0))
        #expect(json.stdout.contains("\"messages\": 0,"), "\(json.stdout)")
        #expect(json.stdout.contains("\"last_receiver_pid\": \(typed.pid),"), "\(json.stdout)")
        #expect(json.stdout.contains("\"mode\": \"0640\""))

        #expect(try IPCTool.run(["msg", "rm", "--key", key]).status == .exited(0))
        let gone = try IPCTool.run(["msg", "stat", "--key", key])
        #expect(gone.status == .exited(1))
        #expect(gone.stderr.contains("(ENOENT)"), "\(gone.stderr)")
    }

    @Test("--nowait and --timeout exit 2 when nothing can be done; E2BIG leaves the message, --truncate cuts it")
    func waiting() throws {
        let created = try IPCTool.run(["msg", "create", "--key", "private", "--max-bytes", "5"])
        let id = try #require(Int32(created.stdout.trimmingCharacters(in: .newlines)), "\(created.stderr)")
        defer { TestObjects.remove(.systemV(.messageQueue, id: id)) }
        let queue = try SystemVMessageQueue(id: id)
        #expect(try queue.status().maximumBytes == 5)

        let empty = try IPCTool.run(["msg", "recv", "--id", "\(id)", "--nowait"])
        #expect(empty.status == .exited(2))
        #expect(empty.stderr.contains("would block"), "\(empty.stderr)")
        let late = try IPCTool.run(["msg", "recv", "--id", "\(id)", "--timeout", "0.2"])
        #expect(late.status == .exited(2))
        #expect(late.stderr.contains("(ETIMEDOUT)"), "\(late.stderr)")

        #expect(try IPCTool.run(["msg", "send", "--id", "\(id)", "hello", "--nowait"]).status == .exited(0))
        let full = try IPCTool.run(["msg", "send", "--id", "\(id)", "more", "--nowait"])
        #expect(full.status == .exited(2))
        #expect(full.stderr.contains("is full"), "\(full.stderr)")
        let stuck = try IPCTool.run(["msg", "send", "--id", "\(id)", "more", "--timeout", "0.1"])
        #expect(stuck.status == .exited(2))

        let tooLong = try IPCTool.run(["msg", "recv", "--id", "\(id)", "--max-size", "3"])
        #expect(tooLong.status == .exited(1))
        #expect(tooLong.stderr.contains("(E2BIG)"), "\(tooLong.stderr)")
        #expect(try queue.status().messageCount == 1, "the message stayed")
        let cut = try IPCTool.run(["msg", "recv", "--id", "\(id)", "--max-size", "3", "--truncate"])
        #expect(cut.stdout == "hel\n")
        #expect(try queue.status().messageCount == 0)
    }

    @Test("errors exit 1 with the library's message: EEXIST, ENOENT, type 0, bad key, no address")
    func failures() throws {
        let key = "\(TestObjects.systemVKey())"
        let created = try IPCTool.run(["msg", "create", "--key", key])
        let id = try #require(Int32(created.stdout.trimmingCharacters(in: .newlines)), "\(created.stderr)")
        defer { TestObjects.remove(.systemV(.messageQueue, id: id)) }

        let exists = try IPCTool.run(["msg", "create", "--key", key])
        #expect(exists.status == .exited(1))
        #expect(exists.stderr.contains("msgget(key \(key)): file exists (EEXIST)"), "\(exists.stderr)")
        let badType = try IPCTool.run(["msg", "send", "--key", key, "x", "--type", "0"])
        #expect(badType.status == .exited(64))
        #expect(badType.stderr.contains("give 1 to \(Int.max)"), "\(badType.stderr)")

        try SystemVMessageQueue(id: id).remove()
        let missing = try IPCTool.run(["msg", "recv", "--key", key, "--nowait"])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("(ENOENT)"), "\(missing.stderr)")
        let removedID = try IPCTool.run(["msg", "send", "--id", "\(id)", "x"])
        #expect(removedID.status == .exited(1))
        #expect(removedID.stderr.contains("(EINVAL)"), "\(removedID.stderr)")
        #expect(try IPCTool.run(["msg", "stat", "--key", "0xnothex"]).status == .exited(64))
        #expect(try IPCTool.run(["msg", "stat"]).status == .exited(64))
    }
}
