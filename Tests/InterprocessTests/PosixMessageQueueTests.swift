@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// POSIX message queues (SPEC M1, L3), between real processes. Every queue is small
/// (the default fs.mqueue limits allow 10 messages of 8192 bytes, and all of a
/// user's queues share RLIMIT_MSGQUEUE), uniquely named and removed by its test.
@Suite("POSIX message queues")
struct PosixMessageQueueTests {
    // MARK: opening and removing

    @Test("create is exclusive (EEXIST); open of a missing queue is ENOENT; openOrCreate keeps an existing queue's sizes")
    func creationRules() throws {
        try TestObjects.withQueueName { name in
            let error = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(name) }
            #expect(error?.errno == .noSuchFileOrDirectory)
            #expect(error?.description == "mq_open(\"\(name)\"): no such file or directory (ENOENT)")

            let queue = try PosixMessageQueue.create(name, maxMessages: 3, messageSize: 40)
            #expect(queue.maxMessages == 3 && queue.messageSize == 40)
            #expect(queue.name?.string == name)
            let again = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.create(name, maxMessages: 3, messageSize: 40) }
            #expect(again?.errno == .fileExists)

            let existing = try PosixMessageQueue.openOrCreate(name, maxMessages: 5, messageSize: 100)
            #expect(existing.maxMessages == 3 && existing.messageSize == 40)
            try existing.close()
            try queue.close()
            try PosixMessageQueue.unlink(name)
            let gone = #expect(throws: IPCError.self) { try PosixMessageQueue.unlink(name) }
            #expect(gone?.errno == .noSuchFileOrDirectory)
        }
    }

    @Test("sizes below 1 are EINVAL before the call; one size given fills the other from the kernel default")
    func creationSizes() throws {
        try TestObjects.withQueueName { name in
            let zero = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.create(name, maxMessages: 0, messageSize: 16) }
            #expect(zero?.errno == .invalidArgument)
            #expect(zero?.detail?.contains("maxMessages") == true)
            let negative = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: -1) }
            #expect(negative?.errno == .invalidArgument)

            let queue = try PosixMessageQueue.create(name, maxMessages: 2)
            #expect(queue.maxMessages == 2)
            #expect(queue.messageSize == MessageQueueKernelLimits.value("msgsize_default") ?? 8192)
            try queue.close()
            try PosixMessageQueue.unlink(name)
        }
    }

    @Test("a queue created 0600 by root cannot be opened by a process running as uid 65534 (EACCES)",
          .enabled(if: getuid() == 0, "needs root to drop a child to another uid"))
    func permissions() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            for access in ["r", "w", "rw"] {
                let denied = try TestPeer.run(TestPeer.spawn("as-user", "65534", "mq-open", name, access))
                #expect(denied.status == .exited(0))
                #expect(denied.output == "EACCES", "access \(access)")
            }
            // The control: with read permission for others the same child may receive.
            #expect(fchmod(queue.descriptor.rawValue, 0o604) == 0)
            #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "mq-open", name, "r")).output == "ok")
            #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "mq-open", name, "w")).output == "EACCES")
        }
    }

    // MARK: priorities

    @Test("interleaved senders in three processes, 40 priority levels: strict priority order, FIFO within a priority")
    func priorityOrder() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .readOnly, maxMessages: 10, messageSize: 64)
            defer { TestObjects.remove(.queue(name)) }
            let senders = try (0..<3).map { _ in try PeerSession("mq-send-script", [name]) }

            // 40 levels, the extremes included; each round fills the queue (10
            // messages) with 7 levels, three of them twice.
            let levels: [UInt32] = Array(0...31) + [100, 1000, 5000, 10000, 20000, 30000, 32766, PosixMessageQueue.priorityLimit - 1]
            var random = SplitMix(seed: 0x5eed)
            let shuffled = levels.shuffled(using: &random)
            var sequence = 0
            var seenLevels = Set<UInt32>()
            for round in stride(from: 0, to: shuffled.count, by: 7) {
                let distinct = Array(shuffled[round..<min(round + 7, shuffled.count)])
                let priorities = (distinct + distinct.prefix(10 - distinct.count)).shuffled(using: &random)
                // Send in a known order: sender i % 3 sends message i, and says so
                // before the next one goes.
                var arrivals: [(priority: UInt32, text: String)] = []
                for (i, priority) in priorities.enumerated() {
                    let text = "s\(i % 3)-m\(sequence)"
                    sequence += 1
                    try senders[i % 3].send("\(priority) \(text)")
                    #expect(try senders[i % 3].line() == "ok")
                    arrivals.append((priority, text))
                }
                #expect(try queue.attributes.currentMessages == 10)
                // Stable sort: highest priority first, arrival order within one.
                let expected = arrivals.enumerated()
                    .sorted { $0.element.priority != $1.element.priority ? $0.element.priority > $1.element.priority : $0.offset < $1.offset }
                    .map { "\($0.element.priority) \($0.element.text)" }
                var received: [String] = []
                while let message = try queue.tryReceive() {
                    received.append("\(message.priority) \(String(decoding: message.bytes, as: UTF8.self))")
                    seenLevels.insert(message.priority)
                }
                #expect(received == expected, "round \(round / 7)")
            }
            #expect(seenLevels.count == 40)
            for sender in senders { #expect(try sender.finish() == .exited(0)) }
        }
    }

    @Test("a priority of MQ_PRIO_MAX or more is EINVAL before the call; MQ_PRIO_MAX - 1 is accepted")
    func priorityLimit() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            let limit = PosixMessageQueue.priorityLimit
            #expect(limit == UInt32(sysconf(CInt(_SC_MQ_PRIO_MAX))))
            for priority in [limit, limit + 1, .max] {
                let error = #expect(throws: IPCError.self) { try queue.send([1], priority: priority) }
                #expect(error?.errno == .invalidArgument)
                #expect(error?.detail == "priority \(priority) is not below MQ_PRIO_MAX (\(limit))")
                let bounded = #expect(throws: IPCError.self) { try queue.send([1], priority: priority, until: .after(.seconds(1))) }
                #expect(bounded?.errno == .invalidArgument)
                #expect(throws: IPCError.self) { _ = try queue.trySend([1], priority: priority) }
            }
            #expect(try queue.attributes.currentMessages == 0)
            try queue.send([9], priority: limit - 1)
            #expect(try queue.receive() == .init(bytes: [9], priority: limit - 1))
        }
    }

    // MARK: sizes

    @Test("a message larger than the queue's size is EMSGSIZE; a receive buffer smaller than it is EMSGSIZE and loses nothing")
    func messageSizes() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 64)
            defer { TestObjects.remove(.queue(name)) }
            let big = #expect(throws: IPCError.self) { try queue.send([UInt8](repeating: 1, count: 65)) }
            #expect(big?.errno == .messageTooLong)
            #expect(big?.detail == "the message has 65 bytes; the queue's message size is 64")

            try queue.send([UInt8](repeating: 7, count: 64), priority: 2)
            try queue.send([], priority: 1)
            var small = [UInt8](repeating: 0, count: 32)
            let truncated = #expect(throws: IPCError.self) {
                _ = try small.withUnsafeMutableBytes { try queue.receive(into: $0) }
            }
            #expect(truncated?.errno == .messageTooLong)
            #expect(truncated?.detail == "a 32-byte buffer is smaller than the queue's message size (64 bytes)")
            #expect(throws: IPCError.self) { _ = try small.withUnsafeMutableBytes { try queue.tryReceive(into: $0) } }
            // The message is still there, whole; and an empty message is a message.
            #expect(try queue.receive() == .init(bytes: [UInt8](repeating: 7, count: 64), priority: 2))
            #expect(try queue.receive() == .init(bytes: [], priority: 1))
        }
    }

    // MARK: blocking, time-bounded, non-blocking

    @Test("a blocking receive in another process is woken by a send")
    func blockingReceiveWokenBySend() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .writeOnly, maxMessages: 2, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }
            let receiver = try PeerSession("mq-receive", [name])
            #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: mqTimedReceiveSyscall), "the peer never blocked in mq_receive")
            try queue.send(Array("wake up".utf8), priority: 4)
            #expect(try receiver.line() == "4 wake up")
            #expect(try receiver.finish() == .exited(0))
        }
    }

    @Test("a time-bounded receive times out with ETIMEDOUT, here and in another process, and gets a message sent in time")
    func timeBoundedReceive() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }
            let start = Deadline.now
            let error = #expect(throws: IPCError.self) { _ = try queue.receive(until: .after(.milliseconds(200))) }
            let elapsed = Deadline.now.nanoseconds - start.nanoseconds
            #expect(error?.errno == .timedOut)
            #expect(error?.isTimeout == true)
            #expect(error?.detail == "no message arrived before the deadline")
            #expect(elapsed >= 200_000_000 && elapsed < 10_000_000_000, "waited \(elapsed) ns")
            // A deadline already past still takes a waiting message.
            try queue.send([1, 2], priority: 1)
            #expect(try queue.receive(until: .after(.zero)) == .init(bytes: [1, 2], priority: 1))

            let timedOut = try TestPeer.run(TestPeer.spawn("mq-receive", name, "0.3"))
            let parts = timedOut.output.split(separator: " ")
            #expect(parts.first == "ETIMEDOUT", "\(timedOut.output)")
            #expect((parts.last.flatMap { Int($0) } ?? 0) >= 300, "\(timedOut.output)")

            let receiver = try PeerSession("mq-receive", [name, "30"])
            #expect(waitUntilBlocked(pid: receiver.pid, inSyscall: mqTimedReceiveSyscall))
            try queue.send(Array("in time".utf8), priority: 6)
            #expect(try receiver.line() == "6 in time")
            #expect(try receiver.finish() == .exited(0))
        }
    }

    @Test("a time-bounded send on a full queue times out with ETIMEDOUT")
    func timeBoundedSend() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 1, messageSize: 8)
            defer { TestObjects.remove(.queue(name)) }
            try queue.send([1])
            let start = Deadline.now
            let error = #expect(throws: IPCError.self) { try queue.send([2], until: .after(.milliseconds(100))) }
            #expect(error?.errno == .timedOut)
            #expect(Deadline.now.nanoseconds - start.nanoseconds >= 100_000_000)
            #expect(try queue.attributes.currentMessages == 1)
        }
    }

    @Test("trySend and tryReceive report would-block as false and nil, in either blocking mode, without changing it")
    func nonBlockingForms() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 8)
            defer { TestObjects.remove(.queue(name)) }
            for nonBlocking in [false, true] {
                try queue.setNonBlocking(nonBlocking)
                #expect(try queue.tryReceive() == nil)
                #expect(try queue.trySend([1], priority: 1))
                #expect(try queue.trySend([2], priority: 2))
                #expect(try queue.trySend([3], priority: 3) == false)
                #expect(try queue.tryReceive() == .init(bytes: [2], priority: 2))
                #expect(try queue.tryReceive() == .init(bytes: [1], priority: 1))
                #expect(try queue.attributes.isNonBlocking == nonBlocking)
            }
        }
    }

    @Test("attributes: capacity, size, current count; mq_setattr's non-blocking flag makes blocking calls EAGAIN")
    func attributes() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 3, messageSize: 100)
            defer { TestObjects.remove(.queue(name)) }
            #expect(try queue.attributes == PosixMessageQueue.Attributes(isNonBlocking: false, maxMessages: 3, messageSize: 100, currentMessages: 0))
            try queue.send([1])
            try queue.send([2])
            #expect(try queue.attributes.currentMessages == 2)

            try queue.setNonBlocking(true)
            let other = try PosixMessageQueue.open(name, nonBlocking: true)
            #expect(try other.attributes.isNonBlocking)
            _ = try queue.receive()
            _ = try queue.receive()
            let empty = #expect(throws: IPCError.self) { _ = try queue.receive() }
            #expect(empty?.isWouldBlock == true)
            #expect(empty?.operation == "mq_receive")
            let timed = #expect(throws: IPCError.self) { _ = try queue.receive(until: .after(.seconds(5))) }
            #expect(timed?.isWouldBlock == true)
            try queue.send([3])
            try queue.send([4])
            try queue.send([5])
            let full = #expect(throws: IPCError.self) { try queue.send([6]) }
            #expect(full?.isWouldBlock == true)
            try queue.setNonBlocking(false)
            #expect(try queue.attributes.isNonBlocking == false)
            try other.close()
        }
    }

    @Test("sending on a read-only descriptor is EBADF with a detail")
    func accessModes() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .readOnly, maxMessages: 2, messageSize: 8)
            defer { TestObjects.remove(.queue(name)) }
            let error = #expect(throws: IPCError.self) { try queue.send([1]) }
            #expect(error?.errno == .badFileDescriptor)
            #expect(error?.detail == "the queue was opened read-only")
            let writer = try PosixMessageQueue.open(name, access: .writeOnly)
            let receiveError = #expect(throws: IPCError.self) { _ = try writer.tryReceive() }
            #expect(receiveError?.detail == "the queue was opened write-only")
        }
    }

    #if IPC_FAULT_INJECTION
    @Test("EINTR is retried in every form; a time-bounded wait resumes with the time left")
    func interruptedCalls() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 8)
            defer { TestObjects.remove(.queue(name)) }
            try FaultInjection.inject(EINTR, into: "mq_send", count: 2) { () throws(IPCError) in try queue.send([1], priority: 1) }
            let message = try FaultInjection.inject(EINTR, into: "mq_receive", count: 3) { () throws(IPCError) in try queue.receive() }
            #expect(message == .init(bytes: [1], priority: 1))
            try FaultInjection.inject(EINTR, into: "mq_timedsend", count: 2) { () throws(IPCError) in
                try queue.send([2], priority: 2, until: .after(.seconds(5)))
            }
            let timed = try FaultInjection.inject(EINTR, into: "mq_timedreceive", count: 2) { () throws(IPCError) in
                try queue.receive(until: .after(.seconds(5)))
            }
            #expect(timed == .init(bytes: [2], priority: 2))
            let start = Deadline.now
            let error = #expect(throws: IPCError.self) {
                try FaultInjection.inject(EINTR, into: "mq_timedreceive", count: 2) { () throws(IPCError) in
                    _ = try queue.receive(until: .after(.milliseconds(100)))
                }
            }
            #expect(error?.errno == .timedOut)
            #expect(Deadline.now.nanoseconds - start.nanoseconds < 30_000_000_000)
        }
    }

    @Test("a failing mq_close is reported")
    func closeErrors() throws {
        try TestObjects.withQueueName { name in
            try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 8).close()
            defer { TestObjects.remove(.queue(name)) }
            var raw: CInt = -1
            let error = #expect(throws: IPCError.self) {
                try FaultInjection.inject(EIO, into: "mq_close") { () throws(IPCError) in
                    let queue = try PosixMessageQueue.open(name)
                    raw = queue.descriptor.rawValue
                    try queue.close()
                }
            }
            #expect(error?.description == "mq_close(\"\(name)\"): input/output error (EIO)")
            #expect(close(raw) == 0)  // the injected failure skipped the real close
        }
    }
    #endif

    // MARK: lifetime and persistence (SPEC L3)

    @Test("a queue outlives the process that created it (kernel persistence), messages included")
    func kernelPersistence() throws {
        try TestObjects.withQueueName { name in
            let creator = try TestPeer.run(TestPeer.spawn("mq-create-and-leave", name, "kept"))
            #expect(creator.status == .exited(0))
            let queue = try PosixMessageQueue.open(name)
            #expect(queue.maxMessages == 4 && queue.messageSize == 64)
            #expect(try queue.receive() == .init(bytes: Array("kept".utf8), priority: 3))
            try PosixMessageQueue.unlink(name)
        }
    }

    @Test("after unlink the name is free at once, while a process that has the queue open keeps using it until its last close")
    func unlinkWhileOpen() throws {
        try TestObjects.withQueueName { name in
            let old = try PosixMessageQueue.create(name, access: .writeOnly, maxMessages: 2, messageSize: 32)
            let holder = try PeerSession("mq-hold", [name])
            #expect(try holder.line() == "open")

            try PosixMessageQueue.unlink(name)
            let missing = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(name) }
            #expect(missing?.errno == .noSuchFileOrDirectory)
            let replacement = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }

            try old.send(Array("still here".utf8), priority: 5)
            try old.close()
            try holder.closeInput()
            #expect(try holder.line() == "5 still here")
            #expect(try holder.finish() == .exited(0))
            #expect(try replacement.tryReceive() == nil, "the new queue is another queue")
        }
    }

    @Test("queue descriptors are close-on-exec: an exec'd program does not have them, nor a spawned child")
    func closeOnExec() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            #expect(fcntl(queue.descriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0)
            // The peer opens the queue and execs itself: only FD_CLOEXEC can close it.
            #expect(try TestPeer.run(TestPeer.spawn("mq-exec-check", name)).output == "closed")
            #expect(try TestPeer.run(TestPeer.spawn("fd-state", String(queue.descriptor.rawValue))).output == "closed")
            let duplicate = try queue.messages()
            #expect(fcntl(duplicate.source.queue.descriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        }
    }

    @Test("a descriptor handed over with Spawn.inherit works in the child, adopted by number")
    func inheritedDescriptor() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            try PosixMessageQueue.unlink(name)  // the child cannot open it by name: only the descriptor reaches it
            try queue.send(Array("handed over".utf8), priority: 8)
            var spawn = TestPeer.spawn("mq-receive-fd", "3")
            try spawn.inherit(queue.descriptor, as: 3)
            let run = try TestPeer.run(spawn)
            #expect(run.status == .exited(0))
            #expect(run.output == "8 handed over")
            #expect(try queue.attributes.currentMessages == 0)
        }
    }

    @Test("adopting a descriptor that is not a queue is EBADF and closes it")
    func adoptingOtherDescriptors() throws {
        let pipe = try Pipe()
        let reader = try pipe.reader.descriptor.duplicate()
        let raw = reader.rawValue
        var failure: IPCError?
        do { _ = try PosixMessageQueue(adopting: reader) } catch { failure = error }
        #expect(failure?.errno == .badFileDescriptor)
        #expect(failure?.detail == "the descriptor is not a message queue")
        #expect(fcntl(raw, F_GETFD) == -1, "adopted, so closed")
    }
}

/// A small seeded generator, so a failing order is reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
