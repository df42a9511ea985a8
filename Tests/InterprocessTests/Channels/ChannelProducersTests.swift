@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several producers between real processes (M5): each producer has its own ring,
/// the receiver takes them in turn. The peers are `channel-send … TAG` and
/// `channel-claim-hang` (Sources/InterprocessTestPeer/ChannelCommands.swift).
@Suite("Shared-memory channel with several producer processes (M5)")
struct ChannelProducersTests {
    @Test("four producer processes interleave a million messages: each one's arrive in order and intact, none lost or repeated")
    func producersInterleave() throws {
        let perProducer: UInt64 = 250_000
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 14, maximumMessageSize: 256, producers: 4)
        var peers: [PeerSession] = []
        for tag in 0..<4 {
            peers.append(try PeerSession("channel-send", ["fd:3", "\(perProducer)", "256", "\(tag * 7 + 1)", "\(tag)"],
                                         handing: channel.memory.descriptor))
        }
        for peer in peers { #expect(try peer.line() == "sending") }
        var receiver = try channel.receiver()
        var next: [UInt64: UInt64] = [:]
        var switches = 0, last = UInt64.max
        for _ in 0..<(4 * perProducer) {
            let tag = try receiveTaggedMessage(&receiver, next: &next)
            if tag != last { switches += 1 }
            last = tag
        }
        #expect(next == [0: perProducer, 1: perProducer, 2: perProducer, 3: perProducer])
        #expect(switches > 1000, "the producers' messages should interleave; \(switches) switches")
        for peer in peers {
            #expect(try peer.line() == "sent")
            #expect(try peer.finish() == .exited(0))
        }
        let error = #expect(throws: IPCError.self) { _ = try receiver.receive(timeout: .seconds(30)) }
        #expect(error?.errno == .brokenPipe)
        #expect(error?.detail?.contains("every producer has ended") == true, "\(String(describing: error))")
    }

    @Test("a producer killed between claiming room and committing blocks neither the other producers nor the receiver")
    func killedBetweenClaimAndCommit() throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 12, maximumMessageSize: 256, producers: 2)
        let stuck = try PeerSession("channel-claim-hang", ["fd:3"], handing: channel.memory.descriptor)
        #expect(try stuck.line() == "claimed")
        let steady = try PeerSession("channel-send", ["fd:3", "20000", "256", "5", "1"], handing: channel.memory.descriptor)
        #expect(try steady.line() == "sending")
        // Both slots are held by live producers: a third is refused.
        let memory = try channel.memory.descriptor.duplicate()
        var busy: IPCError?
        do throws(IPCError) {
            _ = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        } catch {
            busy = error
        }
        #expect(busy?.errno == .resourceBusy)
        #expect(busy?.detail?.contains("all 2 producer slots are taken") == true, "\(String(describing: busy))")
        #expect(busy?.detail?.contains("\(stuck.pid)") == true)

        var receiver = try channel.receiver()
        var next: [UInt64: UInt64] = [:]
        for _ in 0..<10_000 { _ = try receiveTaggedMessage(&receiver, next: &next) }
        _ = try stuck.kill()                 // inside its send: claimed, never committed
        for _ in 0..<10_000 { _ = try receiveTaggedMessage(&receiver, next: &next) }
        #expect(next == [1: 20_000], "only the steady producer's messages, all of them: \(next)")
        #expect(try steady.line() == "sent")
        #expect(try steady.finish() == .exited(0))
        // The dead producer's slot is free again, and what it claimed never shows.
        let replacement = try PeerSession("channel-send", ["fd:3", "1000", "256", "9", "2"], handing: memory)
        #expect(try replacement.line() == "sending")
        for _ in 0..<1000 { _ = try receiveTaggedMessage(&receiver, next: &next) }
        #expect(next == [1: 20_000, 2: 1000])
        #expect(try replacement.finish() == .exited(0))
        #expect(try receiver.tryReceive() == nil)
    }

    @Test("producers SIGKILLed at random points, 200 times, beside two steady producers: nobody hangs, no message is corrupt, lost or repeated")
    func killedProducers() throws {
        let perSteady: UInt64 = 50_000
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 12, maximumMessageSize: 200, producers: 3)
        let steady = try (1...2).map { tag in
            try PeerSession("channel-send", ["fd:3", "\(perSteady)", "200", "\(tag)", "\(tag)"], handing: channel.memory.descriptor)
        }
        for peer in steady { #expect(try peer.line() == "sending") }
        let memory = try channel.memory.descriptor.duplicate()
        var receiver = try channel.receiver()
        var next: [UInt64: UInt64] = [:]
        for round in 0..<200 {
            let tag = UInt64(10 + round)
            let victim = try PeerSession("channel-send", ["fd:3", "0", "200", "\(round + 3)", "\(tag)"], handing: memory)
            #expect(try victim.line() == "sending")
            // Take messages (of any producer) until the victim has sent some.
            let wanted = UInt64.random(in: 0...300)
            while next[tag, default: 0] < wanted { _ = try receiveTaggedMessage(&receiver, next: &next) }
            _ = try victim.kill()
        }
        while next[1, default: 0] < perSteady || next[2, default: 0] < perSteady {
            _ = try receiveTaggedMessage(&receiver, next: &next)
        }
        for peer in steady {
            #expect(try peer.line() == "sent")
            #expect(try peer.finish() == .exited(0))
        }
        // What the victims committed before they died comes out (in order, checked),
        // then: every producer has ended.
        var outcome: IPCError?
        while outcome == nil {
            do { _ = try receiveTaggedMessage(&receiver, next: &next) } catch let error as IPCError { outcome = error }
        }
        #expect(outcome?.errno == .brokenPipe, "\(String(describing: outcome))")
        #expect(next[1] == perSteady && next[2] == perSteady)
    }
}
