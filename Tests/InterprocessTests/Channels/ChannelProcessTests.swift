@testable import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Channels between real processes (M5): the peer is `InterprocessTestPeer`'s
/// channel commands (ChannelCommands.swift).
@Suite("Shared-memory channel between processes: integrity, peer death, hostile memory (M5)")
struct ChannelProcessTests {
    /// Ten million (one million under the thread sanitizer, which instruments every
    /// access and would take many minutes).
    @Test("ten million messages of random sizes from a spawned sender (memfd handed down) arrive in order, intact")
    func tenMillionMessages() throws {
        let count: UInt64 = ThreadSanitizer.isEnabled ? 1_000_000 : 10_000_000
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 16, maximumMessageSize: 256)
        let peer = try PeerSession("channel-send", ["fd:3", "\(count)", "256", "\(UInt64.random(in: 1...UInt64.max))"],
                                   handing: channel.memory.descriptor)
        #expect(try peer.line() == "sending")
        var receiver = try channel.receiver()
        var problems: [String] = []
        for sequence in 0..<count {
            if let problem = try receiveTestMessage(&receiver, sequence: sequence) {
                problems.append(problem)
                if problems.count > 5 { break }
            }
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(try peer.line() == "sent")
        #expect(try peer.finish() == .exited(0))
    }

    @Test("messages from this process reach a receiver that opened the channel by name")
    func namedToPeer() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        var sender = try SharedMemoryChannel.create(name, capacity: 1 << 12, maximumMessageSize: 512).sender()
        let count: UInt64 = 100_000
        let peer = try PeerSession("channel-receive", [name, "\(count)"])
        #expect(try peer.line() == "receiving")
        var random = UInt64.random(in: 1...UInt64.max)
        for sequence in 0..<count {
            try sendTestMessage(&sender, size: 16 + Int(nextRandom(&random) % 497), sequence: sequence, random: &random)
        }
        #expect(try peer.line() == "ok \(count)")
        #expect(try peer.finish() == .exited(0))
    }

    @Test("a sender that exits: the receiver takes every message, then gets EPIPE naming it")
    func senderExits() throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 12, maximumMessageSize: 256)
        let peer = try PeerSession("channel-send", ["fd:3", "500", "256", "7"], handing: channel.memory.descriptor)
        #expect(try peer.line() == "sending")
        var receiver = try channel.receiver()
        for sequence in 0..<UInt64(500) { #expect(try receiveTestMessage(&receiver, sequence: sequence) == nil) }
        #expect(try peer.line() == "sent")
        let error = #expect(throws: IPCError.self) { _ = try receiver.receive(timeout: .seconds(30)) }
        #expect(error?.errno == .brokenPipe)
        #expect(error?.detail?.contains("pid \(peer.pid)") == true)
        #expect(try peer.finish() == .exited(0))
    }

    @Test("a sender SIGKILLed at random points, 200 times: never a hang, never a bad message, EPIPE naming it")
    func killedSender() throws {
        for round in 0..<200 {
            let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 12, maximumMessageSize: 300)
            let peer = try PeerSession("channel-send", ["fd:3", "0", "300", "\(round + 1)"], handing: channel.memory.descriptor)
            #expect(try peer.line() == "sending")
            var receiver = try channel.receiver()
            var sequence: UInt64 = 0
            for _ in 0..<Int.random(in: 0...2000) {
                #expect(try receiveTestMessage(&receiver, sequence: sequence) == nil)
                sequence += 1
            }
            _ = try peer.kill()
            // What was committed before the kill comes out intact; then the error.
            var outcome: IPCError?
            while outcome == nil {
                do {
                    let problem = try receiver.receive(timeout: .seconds(30)) { span in
                        span.withUnsafeBytes { ChannelTestMessage.problem($0, sequence: sequence) }
                    }
                    #expect(problem == nil, "round \(round): \(problem ?? "")")
                    if problem != nil { return }
                    sequence += 1
                } catch let error as IPCError {
                    outcome = error
                }
            }
            #expect(outcome?.errno == .brokenPipe, "round \(round): \(String(describing: outcome))")
            #expect(outcome?.detail?.contains("pid \(peer.pid)") == true)
        }
    }

    @Test("a receiver killed while this process sends: the sender, once the ring is full, gets EPIPE naming it")
    func killedReceiver() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        var sender = try SharedMemoryChannel.create(name, capacity: 1 << 12, maximumMessageSize: 256).sender()
        let peer = try PeerSession("channel-receive", [name, "1000000000"])
        #expect(try peer.line() == "receiving")
        var random: UInt64 = 99
        var sequence: UInt64 = 0
        for _ in 0..<Int.random(in: 0...500) {
            try sendTestMessage(&sender, size: 16 + Int(nextRandom(&random) % 241), sequence: sequence, random: &random)
            sequence += 1
        }
        _ = try peer.kill()
        var outcome: IPCError?
        while outcome == nil {
            do throws(IPCError) {
                try sender.send(Array(repeating: 0, count: 200), timeout: .seconds(30))
            } catch {
                outcome = error
            }
        }
        #expect(outcome?.errno == .brokenPipe, "\(String(describing: outcome))")
        #expect(outcome?.detail?.contains("receiver, pid \(peer.pid), is gone") == true)
    }

    @Test("a peer writing random bytes into the indices and ring: calls return valid messages or throw, never crash or hang")
    func hostileMemory() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let maximum = 200
        _ = try SharedMemoryChannel.create(name, capacity: 1024, maximumMessageSize: maximum)
        let fuzzer = try PeerSession("channel-fuzz", [name, "\(UInt64.random(in: 1...UInt64.max))"])
        #expect(try fuzzer.line() == "fuzzing")
        let expected: Set<Errno> = [.protocolError, .badMessage, .brokenPipe, .timedOut, .resourceBusy, .invalidArgument]
        var outcomes: [String: Int] = [:]
        for _ in 0..<400 {
            do throws(IPCError) {
                var sender = try SharedMemoryChannel.open(name).sender()
                var receiver = try SharedMemoryChannel.open(name).receiver()
                for round in 0..<50 {
                    let size = Int.random(in: 0...maximum)
                    if try sender.trySend(Array(repeating: UInt8(size & 0xff), count: size)) { outcomes["sent", default: 0] += 1 }
                    let message = round % 10 == 0 ? try receiver.receive(timeout: .milliseconds(1)) : try receiver.tryReceive()
                    if let message {
                        #expect(message.count <= maximum)
                        outcomes["received", default: 0] += 1
                    }
                }
            } catch {
                #expect(expected.contains(error.errno), "\(error)")
                outcomes[error.errnoName, default: 0] += 1
            }
        }
        try fuzzer.closeInput()
        #expect(try fuzzer.line().hasPrefix("done"))
        #expect(try fuzzer.waitForExit() == .exited(0))
        // The fuzzer did damage: some calls were refused.
        #expect(outcomes.keys.contains { $0.hasPrefix("E") }, "\(outcomes)")
    }
}
