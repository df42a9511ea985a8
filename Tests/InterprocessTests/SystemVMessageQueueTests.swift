@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// System V message queues (SPEC M3, V1–V3, L3), between real processes: the peer
/// sends, receives, blocks and exits; this process checks what the kernel did.
/// Every queue is created by its test, under a unique key or private, and removed.
@Suite("System V message queues")
struct SystemVMessageQueueTests {
    // MARK: creating and opening

    @Test("open of a missing key is ENOENT, create is exclusive (EEXIST), openOrCreate and init(id:) reach the same queue, also from another process")
    func creationRules() throws {
        let key = TestObjects.systemVKey()
        let missing = #expect(throws: IPCError.self) { _ = try SystemVMessageQueue.open(key: key) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-open", "\(key)")).output == "ENOENT")

        let queue = try SystemVMessageQueue.create(key: key)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        #expect(queue.key == key)
        let again = #expect(throws: IPCError.self) { _ = try SystemVMessageQueue.create(key: key) }
        #expect(again?.errno == .fileExists)
        #expect(try SystemVMessageQueue.openOrCreate(key: key, permissions: [.ownerRead]).id == queue.id)
        #expect(try SystemVMessageQueue.open(key: key).id == queue.id)
        #expect(try SystemVMessageQueue(id: queue.id).key == key)
        #expect(try queue.permissions().mode == [.ownerRead, .ownerWrite], "openOrCreate kept the mode")
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-open", "\(key)")).output == "ok \(queue.id)")

        try queue.remove()
        let gone = #expect(throws: IPCError.self) { _ = try SystemVMessageQueue(id: queue.id) }
        #expect(gone?.errno == .invalidArgument)
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-open", "\(key)")).output == "ENOENT")
    }

    @Test("a private key always creates a new queue and cannot be opened by key (EINVAL)")
    func privateKey() throws {
        let first = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: first.id)) }
        let second = try SystemVMessageQueue.openOrCreate(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: second.id)) }
        #expect(first.id != second.id)
        #expect(try first.permissions().key == .private)
        let error = #expect(throws: IPCError.self) { _ = try SystemVMessageQueue.open(key: .private) }
        #expect(error?.errno == .invalidArgument)
    }

    // MARK: type selection

    @Test("types 3,1,2,1,3 sent by another process: receive -2, 3, 0, -2 take 1b, 3a, 2c, 1d; nothing left <= 2; then 3e")
    func typeSelectionFromPeer() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let sent = try TestPeer.run(TestPeer.spawn("svmsg-send-many", "\(queue.id)", "3:a", "1:b", "2:c", "1:d", "3:e"))
        #expect(sent.output == "ok")
        #expect(try queue.status().messageCount == 5)

        func take(_ type: Int) throws -> String? {
            try queue.tryReceive(type: type).map { "\($0.type)\(String(decoding: $0.bytes, as: UTF8.self))" }
        }
        #expect(try take(-2) == "1b", "lowest type <= 2, first of it")
        #expect(try take(3) == "3a", "first of type 3")
        #expect(try take(0) == "2c", "first of all")
        #expect(try take(-2) == "1d")
        #expect(try take(-2) == nil, "no type <= 2 left")
        #expect(try take(4) == nil, "no type 4")
        #expect(try queue.receive(type: 0) == .init(bytes: Array("e".utf8), type: 3))
        #expect(try queue.status().messageCount == 0)
    }

    @Test("types 5,2,9,2 sent here: another process receiving 2, -9, 0, 0, 0 gets 2y, 2w, 5x, 9z, none")
    func typeSelectionInPeer() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        for (type, text) in [(5, "x"), (2, "y"), (9, "z"), (2, "w")] { try queue.send(Array(text.utf8), type: type) }
        let received = try TestPeer.run(TestPeer.spawn("svmsg-try-recv", "\(queue.id)", "2", "-9", "0", "0", "0"))
        #expect(received.output.split(separator: "\n") == ["2 y", "2 w", "5 x", "9 z", "none"])
    }

    @Test("a blocked receiver in another process is woken by a send; Buffer and raw forms carry the type")
    func blockedReceiverWoken() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let receiver = try PeerSession("svmsg-recv", ["\(queue.id)", "4"])
        #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: msgrcvSyscall), "the peer never blocked in msgrcv")
        try queue.send(Array("not this".utf8), type: 3)
        let buffer = SystemVMessageQueue.Buffer(capacity: 16)
        let text = Array("wake up".utf8)
        buffer.text.copyBytes(from: text)
        try queue.send(buffer, count: text.count, type: 4)
        #expect(try receiver.line() == "4 wake up")
        #expect(try receiver.finish() == .exited(0))

        // The peer sends; this side receives into a Buffer (no copy).
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-send", "\(queue.id)", "8", "from peer")).output == "ok")
        let count = try queue.receive(into: buffer, type: -8)
        #expect(buffer.type == 3, "type 3 is the lowest <= 8")
        #expect(Array(buffer.text[..<count]) == Array("not this".utf8))
        #expect(try queue.tryReceive(into: buffer, type: 8) == 9)
        #expect(buffer.type == 8)
        #expect(try queue.tryReceive(into: buffer) == nil)
        let overflow = #expect(throws: IPCError.self) { try queue.send(buffer, count: 17, type: 1) }
        #expect(overflow?.errno == .invalidArgument)
    }

    @Test("a signal to a process blocked in receive does not end it (EINTR is retried): it still gets the message")
    func signalDuringReceive() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let receiver = try PeerSession("svmsg-recv-signalled", ["\(queue.id)"])
        #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: msgrcvSyscall))
        #expect(kill(receiver.pid, SIGUSR1) == 0)
        #expect(signalDelivered(to: receiver.pid), "SIGUSR1 stayed pending")
        #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: msgrcvSyscall), "the peer did not go back to msgrcv")
        try queue.send(Array("after the signal".utf8), type: 2)
        #expect(try receiver.line() == "signals=1 2 after the signal")
        #expect(try receiver.finish() == .exited(0))
    }

    // MARK: IPC_NOWAIT

    @Test("IPC_NOWAIT: an empty queue gives ENOMSG (tryReceive nil), a full one EAGAIN (trySend false), in both processes")
    func noWait() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        #expect(try queue.tryReceive() == nil)
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-try-recv", "\(queue.id)", "0")).output == "none")

        try queue.setMaximumBytes(8)
        #expect(try queue.trySend(Array("12345678".utf8), type: 1))
        #expect(try !queue.trySend([1], type: 1))
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-try-send", "\(queue.id)", "1", "x")).output == "full")
        #expect(try queue.status().messageCount == 1)
        #expect(try queue.tryReceive()?.bytes == Array("12345678".utf8))
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-try-send", "\(queue.id)", "2", "x")).output == "ok")
        #expect(try queue.tryReceive(type: 2)?.bytes == Array("x".utf8))
    }

    // MARK: truncation

    @Test("a message longer than the buffer is E2BIG and stays queued; truncating (MSG_NOERROR) cuts it and removes it")
    func truncation() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-send", "\(queue.id)", "6", "0123456789")).output == "ok")

        let tooBig = #expect(throws: IPCError.self) { _ = try queue.receive(maximumSize: 4) }
        #expect(tooBig?.errno == .argListTooLong)
        #expect(tooBig?.detail?.contains("stays in the queue") == true)
        let small = SystemVMessageQueue.Buffer(capacity: 4)
        #expect(throws: IPCError.self) { _ = try queue.tryReceive(into: small) }
        let status = try queue.status()
        #expect(status.messageCount == 1 && status.byteCount == 10, "the message stayed")

        let cut = try queue.receive(maximumSize: 4, truncating: true)
        #expect(cut == .init(bytes: Array("0123".utf8), type: 6))
        #expect(try queue.status().messageCount == 0, "the truncated message is gone")
    }

    // MARK: removal while blocked

    @Test("a receiver blocked in msgrcv in another process gets EIDRM when the queue is removed")
    func removedUnderReceiver() throws {
        let queue = try SystemVMessageQueue.create(key: TestObjects.systemVKey())
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let receiver = try PeerSession("svmsg-recv", ["\(queue.id)", "0"])
        #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: msgrcvSyscall), "the peer never blocked in msgrcv")
        try queue.remove()
        #expect(try receiver.line().hasPrefix("EIDRM "))
        #expect(try receiver.finish() == .exited(0))
    }

    @Test("a sender blocked in msgsnd on a full queue in another process gets EIDRM when the queue is removed")
    func removedUnderSender() throws {
        let queue = try SystemVMessageQueue.create(key: TestObjects.systemVKey())
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.setMaximumBytes(4)
        try queue.send(Array("full".utf8), type: 1)
        let sender = try PeerSession("svmsg-send", ["\(queue.id)", "1", "more"])
        #expect(waitUntilBlocked(pid: sender.pid, inSyscall: msgsndSyscall), "the peer never blocked in msgsnd")
        try queue.remove()
        #expect(try sender.line() == "EIDRM")
        #expect(try sender.finish() == .exited(0))
    }

    // MARK: time-bounded

    @Test("a time-bounded receive times out with ETIMEDOUT, here and in another process, and gets a message sent in time")
    func timeBoundedReceive() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.send([1], type: 1)
        let start = ContinuousClock.now
        let error = #expect(throws: IPCError.self) { _ = try queue.receive(type: 2, until: .after(.milliseconds(200))) }
        #expect(error?.errno == .timedOut)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(try queue.status().messageCount == 1, "the type-1 message was not taken")

        let timedOut = try TestPeer.run(TestPeer.spawn("svmsg-recv", "\(queue.id)", "5", "0.3"))
        let parts = timedOut.output.split(separator: " ")
        #expect(parts.first == "ETIMEDOUT")
        #expect((parts.last.flatMap { Int($0) } ?? 0) >= 300, "\(timedOut.output)")

        let receiver = try PeerSession("svmsg-recv", ["\(queue.id)", "7", "30"])
        #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: msgrcvSyscall))
        try queue.send(Array("in time".utf8), type: 7)
        #expect(try receiver.line() == "7 in time")
        #expect(try receiver.finish() == .exited(0))
        // A message already there is taken without waiting.
        #expect(try queue.receive(until: .after(.zero)).type == 1)
    }

    @Test("a time-bounded send on a full queue times out with ETIMEDOUT and sends nothing")
    func timeBoundedSend() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.setMaximumBytes(4)
        try queue.send(Array("full".utf8), type: 1)
        let start = ContinuousClock.now
        let error = #expect(throws: IPCError.self) { try queue.send([1], type: 2, until: .after(.milliseconds(200))) }
        #expect(error?.errno == .timedOut)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(try queue.status().messageCount == 1)
    }

    // MARK: async

    @Test("an async receive waits on a library thread (blocked in msgrcv) until another process sends", .timeLimit(.minutes(1)))
    func asyncReceive() async throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let task = Task { try await queue.receiveAsync(type: -10) }
        #expect(await workerBlocked(inSyscall: SyscallNumber.msgrcv, on: queue) != nil, "no worker blocked in msgrcv")
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-send", "\(queue.id)", "10", "async hello")).output == "ok")
        #expect(try await task.value == .init(bytes: Array("async hello".utf8), type: 10))
    }

    @Test("an async receive blocked in msgrcv ends promptly with CancellationError, its worker out of msgrcv, taking nothing", .timeLimit(.minutes(1)))
    func asyncReceiveCancelled() async throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let task = Task { try await queue.receiveAsync() }
        let worker = try #require(await workerBlocked(inSyscall: SyscallNumber.msgrcv, on: queue), "no worker blocked in msgrcv")
        task.cancel()
        let outcome = await result(of: task, within: .seconds(60))
        #expect(outcome != nil, "the cancelled receive did not end")
        #expect(throws: CancellationError.self) { try outcome?.get() }
        #expect(await leftCall(worker, [SyscallNumber.msgrcv], firstArgument: hexArgument(queue.id)), "the worker \(worker) is still in msgrcv")
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-send", "\(queue.id)", "1", "after")).output == "ok")
        #expect(try queue.status().messageCount == 1, "the cancelled receive took nothing")
    }

    @Test("an async send waits while the queue is full and completes when another process receives; cancelled, it sends nothing", .timeLimit(.minutes(1)))
    func asyncSend() async throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try queue.setMaximumBytes(5)
        try await queue.sendAsync(Array("first".utf8), type: 1)
        let task = Task { try await queue.sendAsync(Array("again".utf8), type: 2) }
        #expect(await workerBlocked(inSyscall: SyscallNumber.msgsnd, on: queue) != nil, "no worker blocked in msgsnd")
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-recv", "\(queue.id)", "0")).output == "1 first")
        try await task.value
        #expect(try queue.status().messageCount == 1)

        let cancelled = Task { try await queue.sendAsync(Array("never".utf8), type: 3) }
        #expect(await workerBlocked(inSyscall: SyscallNumber.msgsnd, on: queue) != nil, "no worker blocked in msgsnd")
        cancelled.cancel()
        let outcome = await result(of: cancelled, within: .seconds(60))
        #expect(throws: CancellationError.self) { try outcome?.get() }
        #expect(try TestPeer.run(TestPeer.spawn("svmsg-try-recv", "\(queue.id)", "0", "0")).output.split(separator: "\n") == ["2 again", "none"])
    }

    // MARK: status and control

    @Test("status: qnum, cbytes, qbytes = kernel.msgmnb, lspid and lrpid are the peers that sent and received, times")
    func status() throws {
        let key = TestObjects.systemVKey()
        let queue = try SystemVMessageQueue.create(key: key, permissions: [.ownerRead, .ownerWrite, .groupRead])
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let before = Int(time(nil))
        let fresh = try queue.status()
        #expect(fresh.messageCount == 0 && fresh.byteCount == 0)
        #expect(fresh.maximumBytes == SystemVMessageQueue.defaultMaximumBytes)
        #expect(fresh.lastSenderPID == nil && fresh.lastReceiverPID == nil)
        #expect(fresh.lastSendTime == nil && fresh.lastReceiveTime == nil)
        #expect(abs(fresh.changeTime - before) <= 2)
        #expect(fresh.permissions.key == key && fresh.permissions.mode == [.ownerRead, .ownerWrite, .groupRead])
        #expect(fresh.permissions.uid == getuid() && fresh.permissions.creatorUID == getuid())

        let sender = try PeerSession("svmsg-send", ["\(queue.id)", "2", "hello"])
        #expect(try sender.line() == "ok")
        let sent = try queue.status()
        #expect(sent.messageCount == 1 && sent.byteCount == 5)
        #expect(sent.lastSenderPID == sender.pid)
        #expect(sent.lastReceiverPID == nil)
        #expect((sent.lastSendTime ?? 0) >= before)
        #expect(try sender.finish() == .exited(0))

        let receiver = try PeerSession("svmsg-recv", ["\(queue.id)", "0"])
        #expect(try receiver.line() == "2 hello")
        let received = try queue.status()
        #expect(received.messageCount == 0 && received.byteCount == 0)
        #expect(received.lastReceiverPID == receiver.pid)
        #expect(received.lastSenderPID == sender.pid)
        #expect((received.lastReceiveTime ?? 0) >= before)
        #expect(try receiver.finish() == .exited(0))
    }

    @Test("setMaximumBytes: above kernel.msgmnb only with CAP_SYS_RESOURCE (EPERM without, also for an unprivileged owner); lowering is allowed",
          .enabled(if: getuid() == 0, "needs root to drop a child to another uid"))
    func maximumBytes() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let limit = SystemVMessageQueue.defaultMaximumBytes
        if hasCapability(CAP_SYS_RESOURCE) {
            try queue.setMaximumBytes(limit * 2)
            #expect(try queue.status().maximumBytes == limit * 2)
        } else {
            let denied = #expect(throws: IPCError.self) { try queue.setMaximumBytes(limit * 2) }
            #expect(denied?.errno == .notPermitted)
            #expect(denied?.detail?.contains("CAP_SYS_RESOURCE") == true)
            #expect(try queue.status().maximumBytes == limit)
        }
        try queue.setMaximumBytes(limit / 2)
        #expect(try queue.status().maximumBytes == limit / 2)
        let zero = #expect(throws: IPCError.self) { try queue.setMaximumBytes(0) }
        #expect(zero?.errno == .invalidArgument)
        for wrapping in [1 << 32, (1 << 32) + 1, Int(Int32.max) + 1] {
            let refused = #expect(throws: IPCError.self, "the kernel takes msg_qbytes as an int") { try queue.setMaximumBytes(wrapping) }
            #expect(refused?.errno == .invalidArgument)
            #expect(refused?.detail?.contains("1 to 2147483647") == true, "\(String(describing: refused))")
            #expect(try queue.status().maximumBytes == limit / 2, "\(wrapping) did not wrap into the queue")
        }

        try queue.changePermissions(uid: 65534)
        let id = "\(queue.id)"
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "svmsg-set-max", id, "\(limit + 1)")).output == "EPERM")
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "svmsg-set-max", id, "100")).output == "ok")
        #expect(try queue.status().maximumBytes == 100)
    }

    @Test("a 0600 queue refuses send and receive to uid 65534 (EACCES); after changePermissions(mode: 0o606) both work",
          .enabled(if: getuid() == 0, "needs root to drop a child to another uid"))
    func permissions() throws {
        let queue = try SystemVMessageQueue.create(key: TestObjects.systemVKey())
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let id = "\(queue.id)"
        try queue.send(Array("secret".utf8), type: 1)
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "svmsg-try-send", id, "1", "hi")).output == "EACCES")
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "svmsg-try-recv", id, "0")).output == "EACCES")
        #expect(try queue.status().messageCount == 1)

        try queue.changePermissions(mode: [.ownerRead, .ownerWrite, .otherRead, .otherWrite])
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "svmsg-try-send", id, "2", "hi")).output == "ok")
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "svmsg-try-recv", id, "0")).output == "1 secret")
        #expect(try queue.receive(type: 2).bytes == Array("hi".utf8))
    }

    // MARK: bad input

    @Test("send rejects type 0 and negative types and messages over kernel.msgmax with EINVAL before the call")
    func badInput() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        for type in [0, -1, Int.min] {
            let error = #expect(throws: IPCError.self) { try queue.send([1], type: type) }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail?.contains("at least 1") == true)
        }
        let maximum = SystemVMessageQueue.maximumMessageSize
        let oversize = #expect(throws: IPCError.self) { try queue.send([UInt8](repeating: 7, count: maximum + 1), type: 1) }
        #expect(oversize?.errno == .invalidArgument)
        #expect(oversize?.detail?.contains("kernel.msgmax") == true)
        #expect(throws: IPCError.self) { _ = try queue.trySend([UInt8](repeating: 7, count: maximum + 1), type: 1) }
        #expect(try queue.status().messageCount == 0)
        // The largest message goes through, and comes back whole by default.
        try queue.send([UInt8](repeating: 7, count: maximum), type: 1)
        #expect(try queue.receive().bytes.count == maximum)
        let negative = #expect(throws: IPCError.self) { _ = try queue.tryReceive(maximumSize: -1) }
        #expect(negative?.errno == .invalidArgument)
        let huge = #expect(throws: IPCError.self, "no overflow, no giant allocation") { _ = try queue.tryReceive(maximumSize: Int.max) }
        #expect(huge?.errno == .invalidArgument)
    }

    // MARK: persistence

    @Test("kernel persistence: a queue a process created and sent to outlives it; it is found by key and the message is there")
    func persistence() throws {
        let key = TestObjects.systemVKey()
        let creator = try PeerSession("svmsg-create-and-leave", ["\(key)", "5", "left behind"])
        let line = try creator.line()
        let id = try #require(Int32(line), "\(line)")
        defer { TestObjects.remove(.systemV(.messageQueue, id: id)) }
        #expect(try creator.finish() == .exited(0))
        let queue = try SystemVMessageQueue.open(key: key)
        #expect(queue.id == id)
        #expect(try queue.status().lastSenderPID == creator.pid)
        #expect(try queue.receive() == .init(bytes: Array("left behind".utf8), type: 5))
        try queue.remove()
        #expect(throws: IPCError.self) { _ = try SystemVMessageQueue.open(key: key) }
    }
}

// MARK: helpers

#if arch(x86_64)
private let msgsndSyscall = 69
private let msgrcvSyscall = 70
#elseif arch(arm64)
private let msgsndSyscall = 189
private let msgrcvSyscall = 188
#endif

/// A worker of the waiting engine blocked in system call `number` on `queue`
/// (its first argument, the queue's id), or nil after 30 s.
private func workerBlocked(inSyscall number: String, on queue: SystemVMessageQueue) async -> pid_t? {
    await engineWorker(blockedIn: [number], firstArgument: hexArgument(queue.id))
}

/// CAP_SYS_RESOURCE, which lets a queue's msg_qbytes go above kernel.msgmnb.
private let CAP_SYS_RESOURCE = 24

/// Whether this process has `capability` in its effective set (containers often
/// drop CAP_SYS_RESOURCE even for root).
private func hasCapability(_ capability: Int) -> Bool {
    let status = procFileText("/proc/self/status")
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let mask = UInt64(line.dropFirst("CapEff:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 16) else { return false }
    return mask & (1 << UInt64(capability)) != 0
}

/// Whether the signals sent to process `pid` have been taken for delivery (its
/// pending sets in /proc/PID/status are empty), within 30 s.
private func signalDelivered(to pid: pid_t) -> Bool {
    eventually {
        let pending = procFileText("/proc/\(pid)/status").split(separator: "\n")
            .filter { $0.hasPrefix("SigPnd:") || $0.hasPrefix("ShdPnd:") }
        return pending.count == 2 && pending.allSatisfy { $0.hasSuffix("0000000000000000") }
    }
}
