import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The address space `ipc` gets in the tests that feed it endless or huge input:
/// far more than a streaming command needs (a chunk is 1 MiB), far less than
/// buffering all of stdin or mapping a whole large object would take.
let streamingAddressSpace = 256 << 20

/// A file of `count` random bytes in /tmp for `body`, removed afterwards.
func withRandomFile<R>(count: Int, _ body: (String, [UInt8]) throws -> R) throws -> R {
    let path = TestObjects.temporaryPath("ipct-input")
    var bytes = [UInt8](repeating: 0, count: count)
    for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
    let file = try FileDescriptor.open(path, .writeOnly, options: [.create, .exclusiveCreate], permissions: [.ownerReadWrite])
    defer { TestObjects.remove(.file(path)) }
    _ = try file.closeAfter { try file.writeAll(bytes) }
    return try body(path, bytes)
}

/// `ipc shm write|read` move bytes a chunk at a time: stdin is read no further than
/// what fits, objects are mapped only where the bytes go (issue 8, items 2, 4, 19).
@Suite("ipc shm streaming")
struct SharedMemoryStreamingCommandTests {
    @Test("write < /dev/zero into a 16-byte object fails at once, naming the room, and writes nothing",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func endlessInputIntoSmallObject() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 16)
        try memory.map().write(Array(repeating: 0xAB, count: 16), at: 0)
        let run = try IPCTool.run(["shm", "write", name], stdinFile: "/dev/zero", addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1), "\(run.stderr)")
        #expect(run.stderr.contains("stdin has more than 16 bytes; \(name) (16 bytes) has room for 16 from offset 0: nothing was written"), "\(run.stderr)")
        #expect(try memory.map().read(count: 16, from: 0) == Array(repeating: 0xAB, count: 16), "the object is untouched")
    }

    @Test("one byte is \"1 byte\" in a message")
    func oneByteIsSingular() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        _ = try PosixSharedMemory.create(name, size: 1)
        let run = try IPCTool.run(["shm", "write", name], stdinFile: "/dev/zero", timeout: .seconds(60))
        #expect(run.status == .exited(1), "\(run.stderr)")
        #expect(run.stderr.contains("stdin has more than 1 byte; \(name) (1 byte) has room for 1 from offset 0: nothing was written"), "\(run.stderr)")
    }

    @Test("write < /dev/zero into a 4 MiB object fills it, streaming, then says what was written",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func endlessInputIntoLargerObject() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let size = 4 << 20
        let memory = try PosixSharedMemory.create(name, size: size)
        try memory.map().write(Array(repeating: 0xAB, count: size), at: 0)
        let run = try IPCTool.run(["shm", "write", name, "--offset", "10"], stdinFile: "/dev/zero",
                                  addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1), "\(run.stderr)")
        #expect(run.stderr.contains("stdin has more than \(size - 10) bytes"), "\(run.stderr)")
        #expect(run.stderr.contains("the first \(size - 10) bytes were written, from offset 10"), "\(run.stderr)")
        #expect(try memory.size == size, "not grown")
        #expect(try memory.map().read(count: 11, from: 0) == Array(repeating: 0xAB, count: 10) + [0])
    }

    @Test("write --grow streams a multi-chunk file, growing the object as it goes",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func growingWrite() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 16)
        try memory.map().write(Array(repeating: 0xAB, count: 16), at: 0)
        try withRandomFile(count: 3 << 20 | 123) { path, bytes in
            let run = try IPCTool.run(["shm", "write", name, "--offset", "5", "--grow"], stdinFile: path,
                                      addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
            #expect(run.status == .exited(0), "\(run.stderr)")
            #expect(try memory.size == 5 + bytes.count)
            let mapping = try memory.map()
            #expect(try mapping.read(count: 5, from: 0) == Array(repeating: 0xAB, count: 5))
            #expect(try mapping.read(count: bytes.count, from: 5) == bytes)
        }
    }

    @Test("write --grow refuses an offset past what the filesystem can hold (no 1 TiB object)")
    func growPastTheFilesystem() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 16)
        let capacity = try #require(try memory.filesystemCapacity)
        let run = try IPCTool.run(["shm", "write", name, "--offset", "\(capacity)", "--grow"], input: Array("x".utf8))
        #expect(run.status == .exited(1), "\(run.stderr)")
        #expect(run.stderr.contains("can grow to at most \(capacity) bytes"), "\(run.stderr)")
        #expect(try memory.size == 16, "not grown")
    }

    @Test("read --length 16 of a 1 GiB object maps only the pages it reads",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func smallReadOfHugeObject() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let size = 1 << 30  // sparse: no page is ever allocated
        let memory = try PosixSharedMemory.create(name, size: size)
        try memory.map(covering: (size - 100)..<(size - 84)).write(Array(0..<16), at: (size - 100) % MemoryMapping.pageSize)
        let run = try IPCTool.run(["shm", "read", name, "--offset", "\(size - 100)", "--length", "16"], stdinFile: nil,
                                  addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.output == Array(0..<16))
    }

    @Test("read streams a multi-chunk range exactly, from an offset that is not page-aligned",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func streamedRead() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        try withRandomFile(count: 3 << 20 | 77) { _, bytes in
            let memory = try PosixSharedMemory.create(name, size: bytes.count)
            try memory.map().write(bytes, at: 0)
            let run = try IPCTool.run(["shm", "read", name, "--offset", "1001"], stdinFile: nil,
                                      addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
            #expect(run.status == .exited(0), "\(run.stderr)")
            #expect(run.output == Array(bytes[1001...]))
        }
    }

    @Test("read of a 192 MiB object to the end holds a chunk at a time, not the object",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func largeRead() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let size = 192 << 20
        let memory = try PosixSharedMemory.create(name, size: size)
        try memory.map(covering: (size - 3)..<size).write(Array("end".utf8), at: (size - 3) % MemoryMapping.pageSize)
        // Mapping all of it and copying it would take 384 MiB: more than this address space.
        let run = try IPCTool.run(["shm", "read", name], stdinFile: nil, stdoutFile: "/dev/null",
                                  addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
        #expect(run.status == .exited(0), "\(run.stderr)")
        let tail = try IPCTool.run(["shm", "read", name, "--offset", "\(size - 3)"], input: [])
        #expect(tail.stdout == Array("end".utf8))
    }

    @Test("read --offset past the end fails naming the size; at the very end it reads 0 bytes")
    func offsetPastTheEnd() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        _ = try PosixSharedMemory.create(name, size: 16)
        let past = try IPCTool.run(["shm", "read", name, "--offset", "17"], input: [])
        #expect(past.status == .exited(1))
        #expect(past.stderr.contains("--offset 17 is past the end of \(name) (16 bytes)"), "\(past.stderr)")
        let atEnd = try IPCTool.run(["shm", "read", name, "--offset", "16"], input: [])
        #expect(atEnd.status == .exited(0), "\(atEnd.stderr)")
        #expect(atEnd.stdout.isEmpty)
    }

    @Test("read > /dev/full fails with the write error")
    func readToFullDisk() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        _ = try PosixSharedMemory.create(name, size: 16)
        let run = try IPCTool.run(["shm", "read", name], stdinFile: nil, stdoutFile: "/dev/full")
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("write(stdout): no space left on device (ENOSPC)"), "\(run.stderr)")
    }

    @Test("--sysv: write < /dev/zero fails at once; a large segment is read without a copy of all of it",
          .disabledUnderThreadSanitizer("the address-space cap (ulimit -v) is far below the shadow memory TSan reserves"))
    func systemVSegment() throws {
        let small = try SystemVSharedMemory.create(key: .private, size: 16)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: small.id)) }
        let endless = try IPCTool.run(["shm", "write", "--sysv", "--id", "\(small.id)", "--offset", "4"], stdinFile: "/dev/zero",
                                      addressSpaceLimit: streamingAddressSpace, timeout: .seconds(60))
        #expect(!endless.timedOut)
        #expect(endless.status == .exited(1), "\(endless.stderr)")
        #expect(endless.stderr.contains("stdin has more than 12 bytes; segment \(small.id) (16 bytes) has room for 12 from offset 4"),
                "\(endless.stderr)")
        let past = try IPCTool.run(["shm", "read", "--sysv", "--id", "\(small.id)", "--offset", "17"], input: [])
        #expect(past.status == .exited(1) && past.stderr.contains("past the end of segment \(small.id) (16 bytes)"), "\(past.stderr)")

        // Attached (192 MiB) plus a chunk fits this address space; plus a copy of all of it would not.
        let size = 192 << 20
        let large = try SystemVSharedMemory.create(key: .private, size: size)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: large.id)) }
        try large.attach().mapping.write(Array("end".utf8), at: size - 3)
        let read = try IPCTool.run(["shm", "read", "--sysv", "--id", "\(large.id)"], stdinFile: nil, stdoutFile: "/dev/null",
                                   addressSpaceLimit: 320 << 20, timeout: .seconds(60))
        #expect(read.status == .exited(0), "\(read.stderr)")
        let tail = try IPCTool.run(["shm", "read", "--sysv", "--id", "\(large.id)", "--offset", "\(size - 3)"], input: [])
        #expect(tail.status == .exited(0), "\(tail.stderr)")
        #expect(tail.stdout == Array("end".utf8))
    }
}
