import CInterprocess
@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Pipes (S1, S2)")
struct PipeTests {
    // MARK: S1

    @Test("end of file comes only once every writer, a child's copy included, is closed")
    func endOfFileAfterEveryWriter() throws {
        let pipe = try Pipe()
        let reader = pipe.reader
        let writer = pipe.writer
        let control = try Pipe()
        // The child holds a copy of the write end as fd 4 until fd 3 reaches EOF.
        var spawn = TestPeer.spawn("wait-for-eof", "3")
        try spawn.inherit(control.reader.descriptor, as: 3)
        try spawn.inherit(writer.descriptor, as: 4)
        var child = try spawn.start()
        try control.reader.close()
        try writer.close()

        var buffer = [UInt8](repeating: 0, count: 16)
        let early = #expect(throws: IPCError.self) {
            _ = try buffer.withUnsafeMutableBytes { try reader.read(into: $0, until: .after(.milliseconds(200))) }
        }
        #expect(early?.errno == .timedOut)

        try control.writer.close()
        #expect(try child.wait() == .exited(0))
        let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0, until: .after(.seconds(30))) }
        #expect(n == 0)
    }

    @Test("writing with no reader left throws EPIPE and the process lives on")
    func brokenPipe() throws {
        let pipe = try Pipe()
        let reader = pipe.reader
        let writer = pipe.writer
        var spawn = TestPeer.spawn("exit", "0")
        try spawn.inherit(reader.descriptor, as: 3)
        var child = try spawn.start()
        try reader.close()
        #expect(try child.wait() == .exited(0))  // the last reader is gone

        for _ in 0..<2 {
            let error = #expect(throws: IPCError.self) { try writer.write(all: [1, 2, 3]) }
            #expect(error?.errno == .brokenPipe)
        }
    }

    @Test("an atomic write larger than PIPE_BUF fails with EMSGSIZE and writes nothing")
    func atomicWriteTooLarge() throws {
        let pipe = try Pipe()
        let message = [UInt8](repeating: 7, count: Pipe.atomicWriteLimit + 1)
        let error = #expect(throws: IPCError.self) { try pipe.writer.write(atomically: message) }
        #expect(error?.errno == .messageTooLong)
        #expect(error?.description.contains("PIPE_BUF") == true)

        try pipe.reader.setNonBlocking(true)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(try buffer.withUnsafeMutableBytes { try pipe.reader.tryRead(into: $0) } == nil)

        // Exactly PIPE_BUF is fine.
        try pipe.writer.write(atomically: Array(message.dropLast()))
        #expect(try pipe.reader.read(upTo: 2 * Pipe.atomicWriteLimit).count == Pipe.atomicWriteLimit)
    }

    @Test("atomic writes from several processes are never torn")
    func atomicWritesFromSeveralProcesses() throws {
        let writers = 4, records = 300
        let pipe = try Pipe()
        let reader = pipe.reader
        let writer = pipe.writer
        var children = ChildProcessSet()
        for id in 1...writers {
            var spawn = TestPeer.spawn("write-records", "3", "\(id)", "\(records)")
            try spawn.inherit(writer.descriptor, as: 3)
            try children.start(spawn)
        }
        try writer.close()

        var counts: [UInt8: Int] = [:]
        var torn = 0
        var record = [UInt8](repeating: 0, count: Pipe.atomicWriteLimit)
        while true {
            let n = try record.withUnsafeMutableBytes { try reader.descriptor.read(exactly: $0) }
            if n == 0 { break }
            // Every write is PIPE_BUF bytes, so whole records line up with reads of
            // PIPE_BUF bytes; a torn one mixes two writers' bytes.
            if n != record.count || record.contains(where: { $0 != record[0] }) { torn += 1; continue }
            counts[record[0], default: 0] += 1
        }
        while !children.isEmpty {
            #expect(try children.waitAny().status == .exited(0))
        }
        #expect(torn == 0)
        #expect(counts == Dictionary(uniqueKeysWithValues: (1...writers).map { (UInt8($0), records) }))
    }

    // MARK: S2

    @Test("non-blocking mode keeps the other status flags, on the description a child shares")
    func nonBlockingKeepsFlags() throws {
        let pipe = try Pipe()
        let initial = try pipe.writer.descriptor.statusFlags
        #expect(initial & O_ACCMODE == O_WRONLY)
        #expect(cipc_fcntl_int(pipe.writer.descriptor.rawValue, F_SETFL, initial | O_APPEND) == 0)

        try pipe.writer.setNonBlocking(true)
        let flags = try pipe.writer.descriptor.statusFlags
        #expect(flags & O_NONBLOCK != 0)
        #expect(flags & O_APPEND != 0)
        #expect(flags & O_ACCMODE == O_WRONLY)

        // The flags belong to the open file description: a child's copy sees them.
        var spawn = TestPeer.spawn("status-flags", "3")
        try spawn.inherit(pipe.writer.descriptor, as: 3)
        #expect(try TestPeer.run(spawn).output == "\(flags)")

        try pipe.writer.setNonBlocking(false)
        let cleared = try pipe.writer.descriptor.statusFlags
        #expect(cleared & O_NONBLOCK == 0)
        #expect(cleared & O_APPEND != 0)
        #expect(cleared & O_ACCMODE == O_WRONLY)
        #expect(try pipe.reader.descriptor.statusFlags & O_ACCMODE == O_RDONLY)
    }

    @Test("tryRead on an empty pipe is nil; tryWrite on a full pipe is partial, then nil")
    func wouldBlock() throws {
        let pipe = try Pipe(nonBlocking: true)
        var small = [UInt8](repeating: 0, count: 16)
        #expect(try small.withUnsafeMutableBytes { try pipe.reader.tryRead(into: $0) } == nil)

        let big = [UInt8](repeating: 1, count: 1 << 20)
        let first = try big.withUnsafeBytes { try pipe.writer.tryWrite($0) }
        #expect(first.map { $0 > 0 && $0 < big.count } == true)
        #expect(try big.withUnsafeBytes { try pipe.writer.tryWrite($0) } == nil)

        let error = #expect(throws: IPCError.self) { _ = try big.withUnsafeBytes { try pipe.writer.write($0) } }
        #expect(error?.isWouldBlock == true)
    }

    @Test("a write above PIPE_BUF into an almost full non-blocking pipe reports the partial count")
    func partialWriteAbovePipeBuf() throws {
        let pipe = try Pipe(nonBlocking: true)
        let fill = [UInt8](repeating: 1, count: 1 << 20)
        _ = try fill.withUnsafeBytes { try pipe.writer.tryWrite($0) }
        // Free one page.
        #expect(try pipe.reader.read(upTo: Pipe.atomicWriteLimit).count == Pipe.atomicWriteLimit)

        let message = [UInt8](repeating: 2, count: 2 * Pipe.atomicWriteLimit)
        let n = try message.withUnsafeBytes { try pipe.writer.write($0) }
        #expect(n > 0 && n < message.count)
    }

    // MARK: waiting

    @Test("a time-bounded read of an empty pipe throws ETIMEDOUT")
    func timedRead() throws {
        let pipe = try Pipe()
        var buffer = [UInt8](repeating: 0, count: 8)
        let start = Deadline.now
        let error = #expect(throws: IPCError.self) {
            _ = try buffer.withUnsafeMutableBytes { try pipe.reader.read(into: $0, until: .after(.milliseconds(100))) }
        }
        #expect(error?.errno == .timedOut)
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 90_000_000)
    }

    @Test("an async read blocked on an empty pipe ends with CancellationError when cancelled")
    func cancelledAsyncRead() async throws {
        let pipe = try Pipe()
        let raw = try pipe.reader.descriptor.duplicate().release().rawValue
        let task = Task {
            let reader = PipeReader(adopting: OwnedDescriptor(adopting: FileDescriptor(rawValue: raw)))
            return try await reader.readAsync(upTo: 16)
        }
        // Cancel only once the read is really suspended in the reactor.
        let waiting = Deadline.after(.seconds(30))
        while !Reactor.isWaiting(on: raw) && !waiting.hasPassed { await Task.yield() }
        #expect(Reactor.isWaiting(on: raw), "the read never started waiting")
        task.cancel()
        let outcome = await result(of: task, within: .seconds(30))
        #expect(outcome != nil, "the cancelled read did not end")
        #expect(throws: CancellationError.self) { try outcome?.get() }
    }
}
