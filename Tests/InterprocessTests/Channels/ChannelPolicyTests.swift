@testable import Interprocess
import Dispatch
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The policy when full, the status, and several producers in one process (M5).
@Suite("Shared-memory channel: policy when full, status, producer threads (M5)")
struct ChannelPolicyTests {
    /// Fills the ring with 40-byte messages; returns how many fit.
    func fill(_ sender: inout SharedMemoryChannel.Sender) throws -> Int {
        var count = 0
        while try sender.trySend(Array(repeating: UInt8(count), count: 40)) { count += 1 }
        return count
    }

    @Test("policy fail: a full ring makes every waiting form throw EAGAIN at once, and sends nothing")
    func failWhenFull() async throws {
        var sender = try SharedMemoryChannel.anonymous(capacity: 256, maximumMessageSize: 100, whenFull: .fail).sender()
        var receiver = try SharedMemoryChannel(adopting: sender.memory.descriptor.duplicate()).receiver()
        #expect(receiver.capacity == 256)
        let fitted = try fill(&sender)
        #expect(fitted > 0)
        let copying = #expect(throws: IPCError.self) { try sender.send(Array(repeating: 1, count: 40)) }
        #expect(copying?.errno == .resourceTemporarilyUnavailable)
        #expect(copying?.detail?.contains("\"fail\"") == true)
        var called = false
        #expect(throws: IPCError.self) { try sender.send(count: 40, timeout: .seconds(5)) { _ in called = true } }
        do {
            try await sender.sendAsync(Array(repeating: 1, count: 40))
            Issue.record("sendAsync on a full ring should throw")
        } catch let error as IPCError {
            #expect(error.errno == .resourceTemporarilyUnavailable)
        }
        #expect(!called)
        for index in 0..<fitted { #expect(try receiver.tryReceive() == Array(repeating: UInt8(index), count: 40)) }
        #expect(try receiver.tryReceive() == nil)
        try sender.send(Array(repeating: 9, count: 40))
        #expect(try receiver.tryReceive() == Array(repeating: 9, count: 40))
    }

    @Test("policy drop: a full ring drops and counts the message; the in-place form still returns its result")
    func dropWhenFull() async throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 256, maximumMessageSize: 100, whenFull: .drop)
        #expect(channel.whenFull == .drop)
        var receiver = try SharedMemoryChannel(adopting: channel.memory.descriptor.duplicate()).receiver()
        let watch = try SharedMemoryChannel(adopting: channel.memory.descriptor.duplicate())
        var sender = try channel.sender()
        let fitted = try fill(&sender)
        #expect(!(try sender.trySend(Array(repeating: 1, count: 40))))
        #expect(sender.droppedCount == 0, "trySend does not drop")
        try sender.send(Array(repeating: 1, count: 40))
        let result = try sender.send(count: 40, timeout: .seconds(5)) { span in
            span.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 2) }
            return 42
        }
        #expect(result == 42)
        try await sender.sendAsync(Array(repeating: 3, count: 40))
        #expect(sender.droppedCount == 3)
        #expect(watch.status.producers[0].dropped == 3)
        for index in 0..<fitted { #expect(try receiver.tryReceive() == Array(repeating: UInt8(index), count: 40)) }
        #expect(try receiver.tryReceive() == nil, "the dropped messages never arrive")
        try sender.send(Array(repeating: 7, count: 40))
        #expect(try receiver.tryReceive() == Array(repeating: 7, count: 40))
    }

    @Test("status: ends, queued bytes, fill level; openOrCreate refuses another number of producers or policy")
    func status() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let created = try SharedMemoryChannel.create(name, capacity: 256, maximumMessageSize: 100, producers: 2)
        #expect(created.producers == 2)
        var status = created.status
        #expect(status.receiver == .none)
        #expect(status.producers.map(\.end) == [.none, .none])
        #expect(status.capacity == 256 && status.maximumMessageSize == 100 && status.whenFull == .block)
        var sender = try SharedMemoryChannel.open(name).sender()
        let receiver = try SharedMemoryChannel.open(name).receiver()
        for _ in 0..<3 { try sender.send(Array(repeating: 0, count: 10)) }
        status = created.status
        #expect(status.receiver == .attached(getpid()))
        #expect(status.producers[sender.producerIndex].end == .attached(getpid()))
        #expect(status.queuedBytes == 3 * 24)
        #expect(status.fillLevel == Double(3 * 24) / 512)
        #expect(status.attachedProducers == [getpid()])
        _ = consume sender
        _ = consume receiver
        status = created.status
        #expect(status.receiver == .closed(getpid()))
        #expect(status.producers.contains { $0.end == .closed(getpid()) })
        for (producers, policy) in [(1, SharedMemoryChannel.FullPolicy.block), (2, .drop)] {
            let refused = #expect(throws: IPCError.self) {
                _ = try SharedMemoryChannel.openOrCreate(name, capacity: 256, maximumMessageSize: 100, producers: producers, whenFull: policy)
            }
            #expect(refused?.errno == .invalidArgument)
        }
        let tooMany = #expect(throws: IPCError.self) {
            _ = try SharedMemoryChannel.anonymous(capacity: 256, maximumMessageSize: 100, producers: 65)
        }
        #expect(tooMany?.errno == .invalidArgument)
    }

    @Test("four producer threads of one process, one ring each: every message in its producer's order; a fifth is EBUSY")
    func producerThreads() throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 10, maximumMessageSize: 200, producers: 4)
        let memory = try channel.memory.descriptor.duplicate()
        var receiver = try channel.receiver()
        let perThread: UInt64 = 20_000
        let group = DispatchGroup()
        let failures = Mutex<[String]>([])
        let attached = DispatchSemaphore(value: 0)
        for tag in 0..<UInt64(4) {
            let descriptor = try memory.duplicate().release().rawValue
            DispatchQueue.global().async(group: group) {
                do {
                    var sender = try SharedMemoryChannel(adopting: OwnedDescriptor(adoptingRaw: descriptor)).sender()
                    attached.signal()
                    var random = tag + 1
                    for sequence in 0..<perThread {
                        try sendTestMessage(&sender, size: 16 + Int(nextRandom(&random) % 185), sequence: tag << 48 | sequence, random: &random)
                    }
                } catch {
                    attached.signal()
                    failures.withLock { $0.append("producer \(tag): \(error)") }
                }
            }
        }
        for _ in 0..<4 { attached.wait() }
        let fifth = #expect(throws: IPCError.self) { _ = try SharedMemoryChannel(adopting: memory.duplicate()).sender() }
        #expect(fifth?.errno == .resourceBusy)
        var next: [UInt64: UInt64] = [:]
        for _ in 0..<(4 * perThread) { _ = try receiveTaggedMessage(&receiver, next: &next) }
        group.wait()
        let failed = failures.withLock { $0 }
        #expect(failed.isEmpty, "\(failed)")
        #expect(next == [0: perThread, 1: perThread, 2: perThread, 3: perThread])
    }
}

@Suite("Shared-memory channel creation is atomic (M5)")
struct ChannelCreationTests {
    @Test("an opener racing a creator that makes and removes the channel: ENOENT or a whole channel, never a half-made one")
    func openerNeverSeesHalfMade() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let stop = Atomic<Bool>(false)
        let made = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let creator = try LibraryThread.start(name: "test-creator") {
            while !stop.load(ordering: .relaxed) {
                do throws(IPCError) {
                    _ = try SharedMemoryChannel.create(name, capacity: 1 << 16, maximumMessageSize: 1000, producers: 3)
                    try SharedMemoryChannel.unlink(name)
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    return
                }
                made.add(1, ordering: .relaxed)
            }
        }
        #expect(eventually { made.load(ordering: .relaxed) > 0 || failure.withLock { $0 } != nil })
        var opened = 0, absent = 0
        var others: [String] = []
        for _ in 0..<5000 where others.count < 5 {
            do throws(IPCError) {
                let channel = try SharedMemoryChannel.open(name, timeout: .zero)
                #expect(channel.producers == 3 && channel.capacity == 1 << 16)
                opened += 1
            } catch {
                if error.errno == .noSuchFileOrDirectory { absent += 1 } else { others.append("\(error)") }
            }
        }
        stop.store(true, ordering: .relaxed)
        LibraryThread.join(creator)
        #expect(failure.withLock { $0 } == nil)
        #expect(others.isEmpty, "\(others)")
        #expect(opened + absent == 5000, "\(opened) opened, \(absent) absent")
    }
}
