import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc mq|sem|shm` keep a name's exact bytes, even when they are not UTF-8, and
/// show it escaped (issue 8, item 9).
@Suite("ipc: names that are not UTF-8")
struct NameBytesCommandTests {
    /// Runs `ipc` with arguments given as raw bytes (Swift strings cannot carry
    /// invalid UTF-8 into argv): a shell builds each with printf's octal escapes.
    static func runIPC(_ arguments: [[UInt8]]) throws -> (status: ChildStatus, stdout: String, stderr: String) {
        let files = TestObjects.temporaryPath("ipct-rawargv")
        defer {
            TestObjects.remove(.file(files + ".out"))
            TestObjects.remove(.file(files + ".err"))
        }
        let words = arguments.map { bytes in
            "\"$(printf '" + bytes.map { "\\" + String($0, radix: 8) }.joined() + "')\""
        }
        let script = "exec \"$0\" " + words.joined(separator: " ") + " >\(files).out 2>\(files).err"
        var child = try Spawn("/bin/sh", arguments: ["-c", script, IPCTool.path]).start()
        let status = try child.wait()
        return (status, procFileText(files + ".out"), procFileText(files + ".err"))
    }

    static func uniqueRawName() -> [UInt8] { Array("/".utf8) + [0xff, 0xfe] + Array(TestObjects.name("ipct-raw").utf8) }

    @Test("a queue: create, send, receive and remove under the exact bytes")
    func messageQueue() throws {
        let raw = Self.uniqueRawName(), name = PosixIPCName(bytes: raw)
        defer { TestObjects.remove(.queue(name)) }
        let created = try Self.runIPC([Array("mq".utf8), Array("create".utf8), raw])
        #expect(created.status == .exited(0), "\(created.stderr)")
        #expect(created.stdout.hasPrefix("created \(name.description):"), "\(created.stdout)")
        #expect(created.stdout.contains("\\xff\\xfe"))
        try PosixMessageQueue.open(name).close()
        let lossy = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(String(decoding: raw, as: UTF8.self)) }
        #expect(lossy?.errno == .noSuchFileOrDirectory, "no look-alike queue was made")
        #expect(try Self.runIPC([Array("mq".utf8), Array("send".utf8), raw, Array("hello".utf8)]).status == .exited(0))
        let received = try Self.runIPC([Array("mq".utf8), Array("recv".utf8), raw])
        #expect(received.status == .exited(0))
        #expect(received.stdout.contains("hello"))
        #expect(try Self.runIPC([Array("mq".utf8), Array("rm".utf8), raw]).status == .exited(0))
        let gone = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(name) }
        #expect(gone?.errno == .noSuchFileOrDirectory)
        let again = try Self.runIPC([Array("mq".utf8), Array("rm".utf8), raw])
        #expect(again.status == .exited(1))
        #expect(again.stderr.contains("\"\(name.description)\""), "the error shows the name escaped: \(again.stderr)")
    }

    @Test("a semaphore: create, post, get and remove under the exact bytes; a newline is shown escaped")
    func semaphore() throws {
        let raw = Self.uniqueRawName() + [0x0a, 0x78], name = PosixIPCName(bytes: raw)
        defer { TestObjects.remove(.semaphore(name)) }
        #expect(try Self.runIPC([Array("sem".utf8), Array("create".utf8), raw]).status == .exited(0))
        #expect(access("/dev/shm/sem." + String(decoding: raw.dropFirst(), as: UTF8.self), F_OK) != 0, "not the lossy name")
        #expect(try PosixSemaphore.open(name).value == 0)
        #expect(try Self.runIPC([Array("sem".utf8), Array("post".utf8), raw]).status == .exited(0))
        #expect(try Self.runIPC([Array("sem".utf8), Array("get".utf8), raw]).stdout == "1\n")
        let empty = try Self.runIPC([Array("sem".utf8), Array("wait".utf8), raw, Array("--try".utf8)])
        #expect(empty.status == .exited(0))
        let wouldBlock = try Self.runIPC([Array("sem".utf8), Array("wait".utf8), raw, Array("--try".utf8)])
        #expect(wouldBlock.status == .exited(2))
        #expect(wouldBlock.stderr.contains(name.description), "\(wouldBlock.stderr)")
        #expect(wouldBlock.stderr.contains("\\x0ax"), "the newline is escaped")
        #expect(wouldBlock.stderr.split(separator: "\n").count == 1, "one line")
        #expect(try Self.runIPC([Array("sem".utf8), Array("rm".utf8), raw]).status == .exited(0))
        #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(name) }
    }

    @Test("a shared memory object: create, stat and remove under the exact bytes")
    func sharedMemory() throws {
        let raw = Self.uniqueRawName(), name = PosixIPCName(bytes: raw)
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try Self.runIPC([Array("shm".utf8), Array("create".utf8), raw, Array("--size".utf8), Array("8".utf8)]).status == .exited(0))
        #expect(try PosixSharedMemory.open(name, access: .readOnly).size == 8)
        let stat = try Self.runIPC([Array("shm".utf8), Array("stat".utf8), raw])
        #expect(stat.status == .exited(0))
        #expect(stat.stdout.hasPrefix("name: \(name.description)\n"), "\(stat.stdout)")
        #expect(try Self.runIPC([Array("shm".utf8), Array("rm".utf8), raw]).status == .exited(0))
        #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(name) }
    }

    @Test("ipc rm KIND takes a name as raw bytes, for every POSIX kind")
    func removeByRawName() throws {
        let queue = Self.uniqueRawName(), memory = Self.uniqueRawName(), semaphore = Self.uniqueRawName()
        defer {
            try? PosixMessageQueue.unlink(PosixIPCName(bytes: queue))
            try? PosixSharedMemory.unlink(PosixIPCName(bytes: memory))
            try? PosixSemaphore.unlink(PosixIPCName(bytes: semaphore))
        }
        try PosixMessageQueue.create(PosixIPCName(bytes: queue)).close()
        _ = try PosixSharedMemory.create(PosixIPCName(bytes: memory), size: 1)
        _ = try PosixSemaphore.create(PosixIPCName(bytes: semaphore))
        for (kind, raw) in [("mq", queue), ("pshm", memory), ("psem", semaphore)] {
            let name = PosixIPCName(bytes: raw)
            let removed = try Self.runIPC([Array("rm".utf8), Array(kind.utf8), raw])
            #expect(removed.status == .exited(0), "ipc rm \(kind) \(name): \(removed.stderr)")
            #expect(removed.stdout == "removed \(kind) \(name.description)\n", "\(removed.stdout)")
        }
        #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(PosixIPCName(bytes: queue)) }
        #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(PosixIPCName(bytes: memory)) }
        #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(PosixIPCName(bytes: semaphore)) }
    }

    @Test("a message given as an argument keeps its exact bytes (mq send, msg send), as from stdin")
    func messageTextBytes() throws {
        let text: [UInt8] = [0x61, 0xff, 0xfe, 0x62]
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name)
            defer { TestObjects.remove(.queue(name)) }
            let sent = try Self.runIPC([Array("mq".utf8), Array("send".utf8), Array(name.utf8), text])
            #expect(sent.status == .exited(0), "\(sent.stderr)")
            #expect(try queue.tryReceive()?.bytes == text)
            try queue.send(text, priority: 3)
            let received = try IPCTool.run(["mq", "recv", name], stdinFile: nil)
            #expect(received.output == Array("priority 3: ".utf8) + text + [0x0a], "the text as it is, like msg recv: \(received.output)")
        }
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { try? queue.remove() }
        let sent = try Self.runIPC([Array("msg".utf8), Array("send".utf8), Array("--id".utf8), Array("\(queue.id)".utf8), text])
        #expect(sent.status == .exited(0), "\(sent.stderr)")
        #expect(try queue.tryReceive()?.bytes == text)
    }
}
