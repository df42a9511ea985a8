@testable import Interprocess
import Testing

/// A producer that dies between its commit and its tail's publication, or between
/// a record's header and the markers before it: the next producer of that slot
/// goes on after the committed records and completes the missing markers, so
/// nothing is overwritten under the receiver and nothing committed is lost (M5).
@Suite("Shared-memory channel: a producer slot taken over after a death mid-commit (M5)")
struct ChannelTakeoverTests {
    /// A channel of 4096 bytes whose memory is kept to open its ends.
    private static func channel() throws -> OwnedDescriptor {
        try SharedMemoryChannel.anonymous(capacity: 4096, maximumMessageSize: 2040).memory.descriptor.duplicate()
    }

    @Test("committed, tail not published: the next producer goes on after the record, which arrives intact")
    func unpublishedTail() throws {
        let memory = try Self.channel()
        var receiver = try SharedMemoryChannel(adopting: memory.duplicate()).receiver()
        var first = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        try first.send(Array("before".utf8))
        let published = first.slot.tail.pointee.load(ordering: .acquiring)
        try first.send(Array(repeating: 7, count: 200))
        first.slot.tail.pointee.store(published, ordering: .releasing)  // as if killed before publishing
        _ = consume first
        var second = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        try second.send(Array("after".utf8))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array("before".utf8))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array(repeating: 7, count: 200))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array("after".utf8))
        #expect(try receiver.tryReceive() == nil)
    }

    @Test("a record at the ring's start whose wrap marker is missing: the marker is written, the record arrives")
    func missingWrapMarker() throws {
        let memory = try Self.channel()
        var receiver = try SharedMemoryChannel(adopting: memory.duplicate()).receiver()
        var first = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        for _ in 0..<2 {
            try first.send(Array(repeating: 1, count: 1500))
            #expect(try receiver.receive(timeout: .seconds(5)).count == 1500)
        }
        let published = first.slot.tail.pointee.load(ordering: .acquiring)
        try first.send(Array(repeating: 2, count: 1500))                  // wraps: a marker at the old tail
        first.slot.storeHeader(0, at: published & 4095)                     // killed before the marker…
        first.slot.tail.pointee.store(published, ordering: .releasing)     // …and before publishing
        _ = consume first
        var second = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        try second.send(Array("after".utf8))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array(repeating: 2, count: 1500))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array("after".utf8))
    }

    @Test("an aligned record whose padding marker is missing: the marker is written, the record arrives")
    func missingPaddingMarker() throws {
        let memory = try Self.channel()
        var receiver = try SharedMemoryChannel(adopting: memory.duplicate()).receiver()
        var first = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        try first.send(Array("x".utf8))                                    // 16 bytes: the next record needs padding
        #expect(try receiver.receive(timeout: .seconds(5)) == Array("x".utf8))
        let published = first.slot.tail.pointee.load(ordering: .acquiring)
        #expect(ChannelRecord.padding(at: published & 4095) != 0)
        try first.send(Array(repeating: 3, count: 300))
        first.slot.storeHeader(0, at: published & 4095)
        first.slot.tail.pointee.store(published, ordering: .releasing)
        _ = consume first
        var second = try SharedMemoryChannel(adopting: memory.duplicate()).sender()
        try second.send(Array("after".utf8))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array(repeating: 3, count: 300))
        #expect(try receiver.receive(timeout: .seconds(5)) == Array("after".utf8))
    }
}
