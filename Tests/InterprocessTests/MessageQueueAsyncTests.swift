@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The async forms and the message sequence (SPEC M1, M2): they wait on the queue
/// descriptor's readiness through the reactor and end promptly when cancelled.
@Suite("POSIX message queues, async")
struct MessageQueueAsyncTests {
    @Test("an async receive suspends until another process sends", .timeLimit(.minutes(1)))
    func receiveWokenByPeer() async throws {
        try await TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .readOnly, maxMessages: 2, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }
            let raw = queue.descriptor.rawValue
            let task = Task { [queue = consume queue] in try await queue.receiveAsync() }
            while !Reactor.isWaiting(on: raw) { await Task.yield() }
            let sender = try TestPeer.run(TestPeer.spawn("mq-send", name, "12", "async hello"))
            #expect(sender.status == .exited(0))
            let message = try await task.value
            #expect(message == .init(bytes: Array("async hello".utf8), priority: 12))
        }
    }

    @Test("an async receive on an empty queue ends promptly when cancelled, taking nothing", .timeLimit(.minutes(1)))
    func receiveCancellation() async throws {
        try await TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            let waiter = try queue.messages()
            let raw = waiter.source.queue.descriptor.rawValue
            let task = Task { try await waiter.source.queue.receiveAsync() }
            while !Reactor.isWaiting(on: raw) { await Task.yield() }
            let cancelledAt = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            let elapsed = ContinuousClock.now - cancelledAt
            #expect(elapsed < .seconds(30), "cancellation took \(elapsed)")
            #expect(!Reactor.isWaiting(on: raw))
            try await queue.sendAsync([1], priority: 1)
            #expect(try queue.attributes.currentMessages == 1, "the cancelled receive took nothing")
        }
    }

    @Test("an async send suspends while the queue is full and completes when another process receives", .timeLimit(.minutes(1)))
    func sendWaitsForRoom() async throws {
        try await TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .writeOnly, maxMessages: 1, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            try await queue.sendAsync(Array("first".utf8), priority: 1)
            let raw = queue.descriptor.rawValue
            let task = Task { [queue = consume queue] in try await queue.sendAsync(Array("second".utf8), priority: 2) }
            while !Reactor.isWaiting(on: raw) { await Task.yield() }
            #expect(try TestPeer.run(TestPeer.spawn("mq-receive", name)).output == "1 first")
            try await task.value
            #expect(try TestPeer.run(TestPeer.spawn("mq-receive", name)).output == "2 second")
        }
    }

    @Test("the messages sequence yields what another process sends, in priority order, and ends when cancelled", .timeLimit(.minutes(1)))
    func messageSequence() async throws {
        try await TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .readOnly, maxMessages: 4, messageSize: 32)
            defer { TestObjects.remove(.queue(name)) }
            let sender = try PeerSession("mq-send-script", [name])
            for line in ["1 low", "9 high", "5 middle"] {
                try sender.send(line)
                #expect(try sender.line() == "ok")
            }
            var received: [String] = []
            for try await message in try queue.messages() {
                received.append("\(message.priority) \(String(decoding: message.bytes, as: UTF8.self))")
                if received.count == 3 { break }
            }
            #expect(received == ["9 high", "5 middle", "1 low"])

            // Waiting for the next one: cancellation ends the iteration at once.
            let messages = try queue.messages()
            let raw = messages.source.queue.descriptor.rawValue
            let iteration = Task {
                var count = 0
                for try await _ in messages { count += 1 }
                return count
            }
            while !Reactor.isWaiting(on: raw) { await Task.yield() }
            iteration.cancel()
            await #expect(throws: CancellationError.self) { _ = try await iteration.value }
            #expect(try sender.finish() == .exited(0))
        }
    }

    @Test("readiness of the descriptor: readable with a message, writable with room")
    func readiness() async throws {
        try await TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 1, messageSize: 8)
            defer { TestObjects.remove(.queue(name)) }
            try await queue.waitAsync(for: .writable)
            try await queue.sendAsync([1])
            try await queue.waitAsync(for: .readable)
            #expect(try queue.tryReceive() == .init(bytes: [1], priority: 0))
        }
    }
}
