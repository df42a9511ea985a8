@testable import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The receiver's doorbell (M5): an eventfd that rings when a message may be
/// waiting, to wait on a channel together with other descriptors.
@Suite("Shared-memory channel doorbell: waited on with other descriptors (M5)")
struct ChannelDoorbellTests {
    @Test("a producer process rings the bell: ppoll on the bell and a pipe wakes for the bell; after the producer ends, EPIPE")
    func pollTogetherWithAPipe() throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 12, maximumMessageSize: 256)
        let memory = try channel.memory.descriptor.duplicate()
        var receiver = try channel.receiver()
        let bell = try receiver.doorbell()
        #expect(try receiver.doorbell() === bell)
        #expect(try receiver.tryReceive() == nil)           // arms the bell
        #expect(!bell.tryWait(), "nothing was sent")
        let pipe = try Pipe()
        let count: UInt64 = 2000
        let peer = try PeerSession("channel-send", ["fd:3", "\(count)", "256", "3"], handing: memory)
        #expect(try peer.line() == "sending")
        var received: UInt64 = 0
        var rings = 0
        while received < count {
            var fds = [pollfd(fd: bell.descriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pipe.reader.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, 30_000)
            #expect(ready == 1, "only the bell is ready")
            #expect(fds[0].revents & Int16(POLLIN) != 0 && fds[1].revents == 0)
            if ready != 1 { return }
            rings += 1
            bell.clear()
            while let problem = try receiver.tryReceive({ span in
                span.withUnsafeBytes { ChannelTestMessage.problem($0, sequence: received) }
            }) {
                #expect(problem == nil)
                received += 1
            }
        }
        #expect(rings >= 1)
        #expect(try peer.line() == "sent")
        #expect(try peer.finish() == .exited(0))
        // The producer is gone: the bell rings, and the empty channel says so.
        try bell.wait(timeout: .seconds(30))
        let error = #expect(throws: IPCError.self) { _ = try receiver.tryReceive() }
        #expect(error?.errno == .brokenPipe)
    }

    @Test("waitAsync is woken by a producer thread, and ends promptly on cancellation; dropping the receiver stops the bell's thread")
    func asyncForms() async throws {
        let channel = try SharedMemoryChannel.anonymous(capacity: 1 << 10, maximumMessageSize: 100)
        let memory = try channel.memory.descriptor.duplicate()
        var receiver = try channel.receiver()
        // The sender lives to the end: a producer that ends rings the bell too,
        // which would end the cancelled wait below before its cancellation.
        var sender = try SharedMemoryChannel(adopting: memory).sender()
        let bell = try receiver.doorbell()
        #expect(try receiver.tryReceive() == nil)
        let waiter = Task { try await bell.waitAsync() }
        #expect(try await eventually { Reactor.isWaiting(on: bell.descriptor) })
        try sender.send(Array("ding".utf8))                 // from this task's thread; the waiter's is another
        try await waiter.value
        #expect(try receiver.tryReceive() == Array("ding".utf8))
        #expect(try receiver.tryReceive() == nil)           // armed again
        let cancelled = Task { try await bell.waitAsync() }
        #expect(try await eventually { Reactor.isWaiting(on: bell.descriptor) })
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        _ = consume sender                                   // the last producer ends: the bell rings, EPIPE follows
        try await bell.waitAsync()
        let error = #expect(throws: IPCError.self) { _ = try receiver.tryReceive() }
        #expect(error?.errno == .brokenPipe)
        _ = consume receiver                                 // joins the bell's thread
        #expect(bell.descriptor >= 0)
    }
}
