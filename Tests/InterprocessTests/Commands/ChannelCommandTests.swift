import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc channel` (SPEC M5) and the channel's place in `ipc ls`, run as processes
/// the way a person runs them.
@Suite("ipc channel")
struct ChannelCommandTests {
    @Test("create, send, stat, ls, recv, rm")
    func roundTrip() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let created = try IPCTool.run(["channel", "create", name, "--capacity", "4096", "--max-message", "100", "--producers", "2", "--when-full", "fail"])
        #expect(created.status == .exited(0), "\(created.stderr)")
        #expect(created.stdout == "created \(name): 2 rings of 4096 bytes, messages of at most 100 bytes, when full: fail\n")
        let sent = try IPCTool.run(["channel", "send", name, "hello", "ship 3"])
        #expect(sent.status == .exited(0), "\(sent.stderr)")

        let stat = try IPCTool.run(["channel", "stat", name])
        #expect(stat.status == .exited(0), "\(stat.stderr)")
        #expect(stat.stdout.contains("capacity: 4096 bytes per producer\nmaximum message size: 100 bytes\nwhen full: fail\nreceiver: none\n"), "\(stat.stdout)")
        #expect(stat.stdout.contains("producer 0: closed (pid \(sent.pid)), 32 bytes queued, 0 dropped\nproducer 1: none, 0 bytes queued, 0 dropped\nfill: 0.4%"), "\(stat.stdout)")
        let json = try IPCTool.run(["channel", "stat", name, "--json"])
        #expect(json.stdout.contains("\"queuedBytes\": 32"), "\(json.stdout)")

        let listed = try IPCTool.run(["ls", "--kind", "pshm", "--output", "name,placed"])
        #expect(listed.stdout.contains("ipc.channel v2: producers 0/2, no receiver, 4K ring each, 0% full"), "\(listed.stdout)")

        let received = try IPCTool.run(["channel", "recv", name, "--count", "2"])
        #expect(received.status == .exited(0), "\(received.stderr)")
        #expect(received.stdout == "hello\nship 3\n")
        let removed = try IPCTool.run(["channel", "rm", name])
        #expect(removed.status == .exited(0), "\(removed.stderr)")
        #expect(try IPCTool.run(["channel", "stat", name]).status == .exited(1))
    }

    @Test("one ipc process sends, another receives: the receiver waits for the messages")
    func betweenProcesses() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try IPCTool.run(["channel", "create", name, "--capacity", "1024", "--max-message", "64"]).status == .exited(0))
        let receiver = try IPCToolProcess(["channel", "recv", name, "--count", "3", "--timeout", "30"])
        let sent = try IPCTool.run(["channel", "send", name, "one", "two", "three"])
        #expect(sent.status == .exited(0), "\(sent.stderr)")
        let outcome = try receiver.finish(timeout: .seconds(60))
        #expect(outcome.status == .exited(0), "\(outcome.stderr)")
        #expect(outcome.stdout == "one\ntwo\nthree\n")
    }

    @Test("ls shows the receiver a process holds; a second receiver is EBUSY naming it")
    func heldEnds() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try IPCTool.run(["channel", "create", name, "--capacity", "1024", "--max-message", "64"]).status == .exited(0))
        let peer = try PeerSession("channel-receive", [name, "1000000"])
        #expect(try peer.line() == "receiving")
        let listed = try IPCTool.run(["ls", "--kind", "pshm", "--output", "name,placed"])
        #expect(listed.stdout.contains("producers 0/1, receiver pid \(peer.pid), 1K ring, 0% full"), "\(listed.stdout)")
        let busy = try IPCTool.run(["channel", "recv", name, "--nowait"])
        #expect(busy.status == .exited(1))
        #expect(busy.stderr.contains("(EBUSY): pid \(peer.pid) is the channel's receiver"), "\(busy.stderr)")
        _ = try peer.kill()
    }

    @Test("failures: exit 2 for an empty or full channel with --nowait or --timeout, 1 for EMSGSIZE, a missing name or another object, 64 for bad options")
    func failures() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try IPCTool.run(["channel", "create", name, "--capacity", "64", "--max-message", "24", "--when-full", "fail"]).status == .exited(0))

        let empty = try IPCTool.run(["channel", "recv", name, "--nowait"])
        #expect(empty.status == .exited(2))
        #expect(empty.stderr.contains("(EAGAIN): the channel is empty"), "\(empty.stderr)")
        let timedOut = try IPCTool.run(["channel", "recv", name, "--timeout", "0.2"])
        #expect(timedOut.status == .exited(2))
        #expect(timedOut.stderr.contains("(ETIMEDOUT)"), "\(timedOut.stderr)")

        #expect(try IPCTool.run(["channel", "send", name, "twenty-four bytes, full.", "twenty-four bytes, full."]).status == .exited(0))
        let full = try IPCTool.run(["channel", "send", name, "no room", "--nowait"])
        #expect(full.status == .exited(2))
        #expect(full.stderr.contains("(EAGAIN)"), "\(full.stderr)")
        let failing = try IPCTool.run(["channel", "send", name, "no room"])
        #expect(failing.status == .exited(2), "policy fail: EAGAIN at once")
        #expect(failing.stderr.contains("its policy when full is \"fail\""), "\(failing.stderr)")

        let tooLong = try IPCTool.run(["channel", "send", name, String(repeating: "x", count: 25)])
        #expect(tooLong.status == .exited(1))
        #expect(tooLong.stderr.contains("(EMSGSIZE)"), "\(tooLong.stderr)")

        let geometry = try IPCTool.run(["channel", "create", name + "x", "--capacity", "100", "--max-message", "10"])
        #expect(geometry.status == .exited(1))
        #expect(geometry.stderr.contains("(EINVAL): a channel's capacity is a power of two"), "\(geometry.stderr)")
        #expect(try IPCTool.run(["channel", "create", name, "--capacity", "64", "--max-message", "8", "--when-full", "later"]).status == .exited(64))
        #expect(try IPCTool.run(["channel", "create", name, "--capacity", "32", "--max-message", "8"]).status == .exited(64))
        #expect(try IPCTool.run(["channel", "stat", name + "-missing"]).status == .exited(1))

        let plain = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(plain)) }
        #expect(try IPCTool.run(["shm", "create", plain, "--size", "4096"]).status == .exited(0))
        let notChannel = try IPCTool.run(["channel", "rm", plain])
        #expect(notChannel.status == .exited(1))
        #expect(notChannel.stderr.contains("no placement header here"), "\(notChannel.stderr)")
        #expect(try IPCTool.run(["shm", "stat", plain]).status == .exited(0), "refused, so still there")
    }

    @Test("recv > /dev/full fails and keeps the message for the next receiver")
    func keptWhenStdoutFails() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try IPCTool.run(["channel", "create", name, "--capacity", "1024", "--max-message", "64"]).status == .exited(0))
        #expect(try IPCTool.run(["channel", "send", name, "precious"]).status == .exited(0))
        let failed = try IPCTool.run(["channel", "recv", name], stdinFile: nil, stdoutFile: "/dev/full")
        #expect(failed.status == .exited(1), "\(failed.stderr)")
        let again = try IPCTool.run(["channel", "recv", name, "--nowait"])
        #expect(again.status == .exited(0), "\(again.stderr)")
        #expect(again.stdout == "precious\n")
    }
}
