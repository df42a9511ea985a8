@testable import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Shared-memory channel in one process: ring, forms, geometry (M5)")
struct ChannelTests {
    @Test("messages come out in order and intact, through many wraps of a small ring")
    func orderThroughWraps() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        var sender = try SharedMemoryChannel.create(name, capacity: 256, maximumMessageSize: 120).sender()
        var receiver = try SharedMemoryChannel.open(name).receiver()
        var random: UInt64 = 0x9e37_79b9_7f4a_7c15
        var sent: UInt64 = 0, received: UInt64 = 0
        while received < 20_000 {
            // Fill until full (a random number of messages), then drain a random number.
            while sent < 20_000 {
                let size = 16 + Int(nextRandom(&random) % 105)
                let fits: Void? = try sender.trySend(count: size) { span in
                    span.withUnsafeMutableBytes { ChannelTestMessage.fill($0, sequence: sent, random: &random) }
                }
                if fits == nil { break }
                sent += 1
                if nextRandom(&random) % 4 == 0 { break }
            }
            let drain = 1 + Int(nextRandom(&random) % 4)
            for _ in 0..<drain {
                guard let problem = try receiver.tryReceive({ span in
                    span.withUnsafeBytes { ChannelTestMessage.problem($0, sequence: received) }
                }) else { break }
                #expect(problem == nil)
                received += 1
            }
        }
        #expect(sent == received)
        #expect(try receiver.tryReceive() == nil)
    }

    @Test("a full ring refuses trySend, the copying forms round-trip, empty messages pass")
    func fullAndCopies() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        var sender = try SharedMemoryChannel.create(name, capacity: 128, maximumMessageSize: 56).sender()
        var receiver = try SharedMemoryChannel.open(name).receiver()
        #expect(sender.capacity == 128 && receiver.maximumMessageSize == 56)
        // Records of 8 + 8 bytes: 8 fit in 128.
        var accepted = 0
        while try sender.trySend(Array(repeating: UInt8(accepted), count: 5)) { accepted += 1 }
        #expect(accepted == 8)
        for index in 0..<accepted { #expect(try receiver.receive() == Array(repeating: UInt8(index), count: 5)) }
        #expect(try receiver.tryReceive() == nil)
        try sender.send([])
        #expect(try receiver.receive(timeout: .seconds(30)) == [])
        let big = (0..<56).map { UInt8($0) }
        try sender.send(big, timeout: .seconds(30))
        #expect(try receiver.receive(until: .after(.seconds(30))) == big)
    }

    @Test("an anonymous channel is sealed: nobody can shrink or grow its memfd")
    func anonymousSealed() throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 4096, maximumMessageSize: 100)
        let size = try channel.memory.size
        for newSize in [0, size - 64, size + 4096] {
            let error = #expect(throws: IPCError.self) { try channel.memory.resize(to: newSize) }
            #expect(error?.errno == .notPermitted)
        }
        #expect(try channel.memory.size == size)
    }

    @Test("a message above the maximum is EMSGSIZE and changes nothing")
    func tooLarge() throws {
        var sender = try SharedMemoryChannel.anonymous(capacity: 1024, maximumMessageSize: 100).sender()
        let error = #expect(throws: IPCError.self) { try sender.send(Array(repeating: 0, count: 101)) }
        #expect(error?.errno == .messageTooLong)
        #expect(error?.detail?.contains("at most 100") == true)
        #expect(throws: IPCError.self) { _ = try sender.trySend(count: 101) { _ in } }
        #expect(try sender.trySend(Array(repeating: 1, count: 100)))
    }

    @Test("bad geometry is EINVAL at creation; openOrCreate refuses another geometry")
    func badGeometry() throws {
        for (capacity, maximum) in [(100, 10), (32, 8), (1 << 31, 8), (1024, 0), (1024, 505), (1024, -1)] {
            let error = #expect(throws: IPCError.self) { _ = try SharedMemoryChannel.anonymous(capacity: capacity, maximumMessageSize: maximum) }
            #expect(error?.errno == .invalidArgument)
        }
        #expect(try SharedMemoryChannel.anonymous(capacity: 1024, maximumMessageSize: 504).maximumMessageSize == 504)
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        _ = try SharedMemoryChannel.openOrCreate(name, capacity: 4096, maximumMessageSize: 100)
        #expect(try SharedMemoryChannel.openOrCreate(name, capacity: 4096, maximumMessageSize: 100).capacity == 4096)
        let other = #expect(throws: IPCError.self) { _ = try SharedMemoryChannel.openOrCreate(name, capacity: 8192, maximumMessageSize: 100) }
        #expect(other?.errno == .invalidArgument)
        let exists = #expect(throws: IPCError.self) { _ = try SharedMemoryChannel.create(name, capacity: 4096, maximumMessageSize: 100) }
        #expect(exists?.errno == .fileExists)
    }

    @Test("open refuses another type, another version, junk, a too small object and a damaged geometry")
    func wrongObjectsRefused() throws {
        let size = try ChannelLayout(capacity: 1024, maximumMessageSize: 100).layout.size
        func object(_ fill: (consuming MemoryMapping) throws -> Void) throws -> String {
            let name = TestObjects.sharedMemoryName()
            let memory = try PosixSharedMemory.create(name, size: size)
            try fill(memory.map())
            return name
        }
        func openError(_ name: String) -> IPCError? {
            defer { TestObjects.remove(.sharedMemory(name)) }
            return #expect(throws: IPCError.self) { _ = try SharedMemoryChannel.open(name, timeout: .milliseconds(50)) }
        }
        var otherType = try SharedLayout(type: "orders.ring", version: 1)
        _ = try otherType.bytes(count: 10)
        #expect(openError(try object { _ = try PlacedMapping.create(otherType, in: $0) })?.errno == .protocolWrongTypeForSocket)
        var otherVersion = try SharedLayout(type: ChannelLayout.type, version: ChannelLayout.version + 1)
        _ = try otherVersion.bytes(count: 10)
        #expect(openError(try object { _ = try PlacedMapping.create(otherVersion, in: $0) })?.errno == .protocolNotSupported)
        var random = SystemRandomNumberGenerator()
        let junk = try object { try $0.write((0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }, at: 0) }
        // Junk in the state word may read as a dead initialiser's pid, or one at work.
        let junkError = openError(junk)
        #expect([.invalidArgument, .previousOwnerDied, .timedOut].contains(junkError?.errno), "\(String(describing: junkError))")

        let empty = TestObjects.sharedMemoryName()
        _ = try PosixSharedMemory.create(empty, size: 0)
        #expect(openError(empty) != nil)

        let damaged = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(damaged)) }
        let parts = try ChannelLayout(capacity: 1024, maximumMessageSize: 100)
        _ = try SharedMemoryChannel.create(damaged, capacity: 1024, maximumMessageSize: 100)
        try PosixSharedMemory.open(damaged).map().store(UInt64(600), at: parts.maximumMessageSizePlace.offset)
        let error = #expect(throws: IPCError.self) { _ = try SharedMemoryChannel.open(damaged) }
        #expect(error?.errno == .invalidArgument)
        #expect(error?.detail?.contains("600") == true)
    }

    @Test("one sender at a time; a closed end lets the other drain, then EPIPE; a new end may attach")
    func endsAndClosing() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        var receiver = try SharedMemoryChannel.create(name, capacity: 1024, maximumMessageSize: 100).receiver()
        do {
            var sender = try SharedMemoryChannel.open(name).sender()
            let busy = #expect(throws: IPCError.self) { _ = try SharedMemoryChannel.open(name).sender() }
            #expect(busy?.errno == .resourceBusy)
            try sender.send([1, 2, 3])
        }
        #expect(try receiver.receive() == [1, 2, 3])
        let closed = #expect(throws: IPCError.self) { _ = try receiver.receive(timeout: .seconds(30)) }
        #expect(closed?.errno == .brokenPipe)
        #expect(closed?.detail?.contains("pid \(getpid()), closed its end") == true, "\(String(describing: closed))")
        var again = try SharedMemoryChannel.open(name).sender()
        try again.send([4])
        #expect(try receiver.receive() == [4])
    }

    @Test("time-bounded forms throw ETIMEDOUT on an empty or full ring")
    func timeouts() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        var sender = try SharedMemoryChannel.create(name, capacity: 64, maximumMessageSize: 24).sender()
        var receiver = try SharedMemoryChannel.open(name).receiver()
        let empty = #expect(throws: IPCError.self) { _ = try receiver.receive(timeout: .milliseconds(20)) }
        #expect(empty?.isTimeout == true)
        while try sender.trySend([7]) {}
        let full = #expect(throws: IPCError.self) { try sender.send([7], timeout: .milliseconds(20)) }
        #expect(full?.isTimeout == true)
        #expect(try receiver.receive() == [7])
        try sender.send([8], timeout: .seconds(30))
    }

    @Test("receiveAsync is woken by a sender thread and ends promptly on cancellation")
    func asyncForms() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let parts = try ChannelLayout(capacity: 4096, maximumMessageSize: 100)
        _ = try SharedMemoryChannel.create(name, capacity: 4096, maximumMessageSize: 100)
        let watch = try PosixSharedMemory.open(name).map()
        func receiverAsleep() throws -> Bool {
            try watch.withAtomic(UInt32.self, at: parts.receiverAsleep.offset) { $0.load(ordering: .acquiring) } != 0
        }
        let task = Task {
            var receiver = try SharedMemoryChannel.open(name).receiver()
            let first = try await receiver.receiveAsync()
            let second = try await receiver.receiveAsync()   // cancelled while asleep
            return [first, second]
        }
        #expect(try await eventually { try receiverAsleep() })
        var sender = try SharedMemoryChannel.open(name).sender()
        try await sender.sendAsync([1, 2])
        #expect(try await eventually { try receiverAsleep() })
        task.cancel()
        let outcome = await task.result
        #expect(throws: CancellationError.self) { try outcome.get() }
    }
}
