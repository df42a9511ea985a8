@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A temporary file of `size` bytes, removed when the test ends.
private final class TemporaryFile {
    let path: String
    let descriptor: CInt

    init(size: Int) {
        var template = Array("/tmp/ipct-map-XXXXXX".utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = ftruncate(descriptor, off_t(size))
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The file's bytes through read(2), not through any mapping.
    func contents(count: Int, at offset: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        _ = pread(descriptor, &bytes, count, off_t(offset))
        return bytes
    }

    func owned() throws -> OwnedDescriptor {
        OwnedDescriptor(adopting: FileDescriptor(rawValue: fcntl(descriptor, F_DUPFD_CLOEXEC, 0)))
    }
}

private let page = MemoryMapping.pageSize

@Suite("Memory mappings (H1, H2, H5, L3)")
struct MemoryMappingTests {
    @Test("a shared file mapping writes through to the file; msync sync, async and invalidate")
    func sharedFileMapping() throws {
        let file = TemporaryFile(size: 2 * page)
        let mapping = try MemoryMapping(file.owned(), protection: .readWrite, sharing: .shared)
        let mappedLength = mapping.length
        #expect(mappedLength == 2 * page)
        try mapping.write(Array("through".utf8), at: page + 10)
        try mapping.synchronize(.synchronous)
        #expect(file.contents(count: 7, at: page + 10) == Array("through".utf8))
        try mapping.write(Array("async".utf8), at: 0)
        try mapping.synchronize(.asynchronous, range: 0..<5)
        #expect(pwrite(file.descriptor, "EXTERNAL", 8, off_t(100)) == 8)
        try mapping.synchronize(.synchronous, invalidate: true)
        #expect(try mapping.read(count: 8, from: 100) == Array("EXTERNAL".utf8))
        #expect(file.contents(count: 5, at: 0) == Array("async".utf8))

        let outside = #expect(throws: IPCError.self) { try mapping.synchronize(range: page..<(3 * page)) }
        #expect(outside?.errno == .outOfRange)
    }

    @Test("a private mapping keeps its writes to itself")
    func privateMapping() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: page)
        let shared = try memory.map()
        try shared.write(Array("original".utf8), at: 0)
        let copy = try memory.map(.readWrite, sharing: .private)
        try copy.write(Array("modified".utf8), at: 0)
        #expect(try copy.read(count: 8, from: 0) == Array("modified".utf8))
        #expect(try shared.read(count: 8, from: 0) == Array("original".utf8))
        #expect(try TestPeer.run(TestPeer.spawn("shm-read", name, "0", "8")).output == "original")
    }

    @Test("protection flags are enforced as errors, not SIGSEGV")
    func protection() throws {
        let file = TemporaryFile(size: page)
        var mapping = try MemoryMapping(file.owned(), protection: .read)
        #expect(try mapping.load(UInt32.self, at: 0) == 0)
        let write = #expect(throws: IPCError.self) { try mapping.store(UInt32(1), at: 0) }
        #expect(write?.errno == .permissionDenied)
        #expect(write?.description.contains("not writable") == true)
        try mapping.setProtection(.none)
        let read = #expect(throws: IPCError.self) { _ = try mapping.load(UInt32.self, at: 0) }
        #expect(read?.errno == .permissionDenied)
        try mapping.setProtection(.readWrite)
        try mapping.store(UInt32(7), at: 0)
        #expect(try mapping.load(UInt32.self, at: 0) == 7)

        let readOnly = try PosixSharedMemory.anonymous(size: page)
        let atomics = try readOnly.map(.read)
        let atomic = #expect(throws: IPCError.self) { try atomics.withAtomic(UInt32.self, at: 0) { $0.load(ordering: .relaxed) } }
        #expect(atomic?.errno == .permissionDenied)
    }

    @Test("grow the object and remap: the new bytes are shared with another process")
    func growAndRemap() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: page)
        var mapping = try memory.map()
        try mapping.write(Array("first".utf8), at: 0)
        let tooFar = #expect(throws: IPCError.self) { try mapping.write([1], at: page) }
        #expect(tooFar?.errno == .outOfRange)
        try mapping.grow(to: 4 * page)
        #expect(try memory.size == 4 * page)
        let grownLength = mapping.length
        #expect(grownLength == 4 * page)
        #expect(try mapping.read(count: 5, from: 0) == Array("first".utf8), "the old bytes survive the move")
        try mapping.write(Array("grown".utf8), at: 3 * page + 1)
        #expect(try TestPeer.run(TestPeer.spawn("shm-read", name, "\(3 * page + 1)", "5")).output == "grown")

        try memory.resize(to: 2 * page)
        try mapping.remap(length: 2 * page)
        let shrunkLength = mapping.length
        #expect(shrunkLength == 2 * page)
        #expect(try mapping.read(count: 5, from: 0) == Array("first".utf8))

        var anonymous = try MemoryMapping.anonymous(length: page)
        try anonymous.store(UInt64(42), at: 8)
        try anonymous.remap(length: 3 * page)
        #expect(try anonymous.load(UInt64.self, at: 8) == 42)
        try anonymous.store(UInt64(43), at: 2 * page)
        try anonymous.unmap()
    }

    @Test("zero-size, out-of-range and misaligned accesses are errors")
    func badAccesses() throws {
        let memory = try PosixSharedMemory.anonymous(size: page)
        let mapping = try memory.map()
        let empty = #expect(throws: IPCError.self) { _ = try mapping.read(count: 0, from: 0) }
        #expect(empty?.errno == .invalidArgument)
        let emptyRange = #expect(throws: IPCError.self) { try mapping.withBytes(in: 10..<10) { _ in } }
        #expect(emptyRange?.errno == .invalidArgument)
        let past = #expect(throws: IPCError.self) { _ = try mapping.read(count: 16, from: page - 8) }
        #expect(past?.errno == .outOfRange)
        #expect(past?.detail == "bytes \(page - 8)..<\(page + 8) are outside the mapping's \(page) bytes")
        let negative = #expect(throws: IPCError.self) { try mapping.store(UInt8(0), at: -1) }
        #expect(negative?.errno == .outOfRange)
        let huge = #expect(throws: IPCError.self) { _ = try mapping.load(UInt64.self, at: .max) }
        #expect(huge?.errno == .outOfRange)
        let spanPast = #expect(throws: IPCError.self) { try mapping.withMutableBytes(in: (page - 1)..<(page + 1)) { _ in } }
        #expect(spanPast?.errno == .outOfRange)
        let misaligned = #expect(throws: IPCError.self) { _ = try mapping.load(UInt32.self, at: 2) }
        #expect(misaligned?.errno == .invalidArgument)
        let misalignedAtomic = #expect(throws: IPCError.self) { try mapping.withAtomic(UInt64.self, at: 4) { _ in } }
        #expect(misalignedAtomic?.errno == .invalidArgument)

        let zeroLength = #expect(throws: IPCError.self) { _ = try memory.map(length: 0) }
        #expect(zeroLength?.errno == .invalidArgument)
        let oddOffset = #expect(throws: IPCError.self) { _ = try memory.map(offset: 100, length: 10) }
        #expect(oddOffset?.errno == .invalidArgument)
        let nothing = try PosixSharedMemory.anonymous(size: 0)
        let emptyObject = #expect(throws: IPCError.self) { _ = try nothing.map() }
        #expect(emptyObject?.errno == .invalidArgument)
        #expect(emptyObject?.detail?.contains("set its size first") == true)
        let anonymous = #expect(throws: IPCError.self) { _ = try MemoryMapping.anonymous(length: 0) }
        #expect(anonymous?.errno == .invalidArgument)
    }

    @Test("spans and typed values read and write the mapped bytes")
    func spansAndValues() throws {
        let mapping = try PosixSharedMemory.anonymous(size: page).map()
        try mapping.withMutableBytes(in: 16..<32) { span in
            span.storeBytes(of: UInt64(0x0102_0304_0506_0708), toByteOffset: 0, as: UInt64.self)
            span.storeBytes(of: 0xFF, toByteOffset: 15, as: UInt8.self)
        }
        let total = try mapping.withBytes(in: 16..<32) { span in
            (0..<span.byteCount).reduce(0) { $0 + Int(span.unsafeLoad(fromByteOffset: $1, as: UInt8.self)) }
        }
        #expect(total == 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 0xFF)
        #expect(try mapping.load(UInt64.self, at: 16) == 0x0102_0304_0506_0708)
        struct Pair: BitwiseCopyable, Equatable { var a: UInt32; var b: Float }
        try mapping.store(Pair(a: 9, b: 2.5), at: 64)
        #expect(try mapping.unsafeLoad(Pair.self, at: 64) == Pair(a: 9, b: 2.5))
        let thrown = #expect(throws: CancellationError.self) { try mapping.withBytes { _ in throw CancellationError() } }
        #expect(thrown != nil, "the body's own error comes through")
    }

    @Test("an atomic counter in shared memory is shared by several processes")
    func atomicCounterAcrossProcesses() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let mapping = try PosixSharedMemory.create(name, size: page).map()
        var first = try TestPeer.spawn("shm-atomic-add", name, "128", "20000").start()
        var second = try TestPeer.spawn("shm-atomic-add", name, "128", "20000").start()
        for _ in 0..<20000 {
            try mapping.withAtomic(UInt64.self, at: 128) { _ = $0.add(1, ordering: .relaxed) }
        }
        #expect(try first.wait() == .exited(0))
        #expect(try second.wait() == .exited(0))
        #expect(try mapping.withAtomic(UInt64.self, at: 128) { $0.load(ordering: .relaxed) } == 60000)
    }

    @Test("another process shrinking the object under an access: EFAULT, never SIGBUS; remap repairs")
    func truncatedUnderAccess() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 3 * page)
        var mapping = try memory.map()
        try mapping.write(Array("kept".utf8), at: 0)
        try mapping.write(Array("lost".utf8), at: 2 * page)

        var seen: [UInt8] = []
        var peer: ChildStatus?
        let error = #expect(throws: IPCError.self) {
            try mapping.withBytes { span in
                seen.append(span.unsafeLoad(fromByteOffset: 2 * page, as: UInt8.self))
                // The peer shrinks the object to one page while this access is running.
                peer = try TestPeer.run(TestPeer.spawn("shm-truncate", name, "\(page)")).status
                // These pages no longer exist: the guard answers with zeros.
                seen.append(span.unsafeLoad(fromByteOffset: 2 * page, as: UInt8.self))
                seen.append(span.unsafeLoad(fromByteOffset: page + 5, as: UInt8.self))
                seen.append(span.unsafeLoad(fromByteOffset: 0, as: UInt8.self))
            }
        }
        #expect(peer == .exited(0))
        #expect(seen == [UInt8(ascii: "l"), 0, 0, UInt8(ascii: "k")])
        let fault = try #require(error)
        #expect(fault.errno == .badAddress)
        #expect(fault.description.contains("shrunk by another process to \(page) bytes"), "\(fault)")
        let damaged = mapping.isDamaged
        #expect(damaged)

        let later = #expect(throws: IPCError.self) { _ = try mapping.load(UInt8.self, at: 0) }
        #expect(later?.errno == .badAddress, "every access throws until remap")
        #expect(try TestPeer.run(TestPeer.spawn("shm-truncate", name, "0")).status == .exited(0))
        try mapping.remap(length: page)
        let repaired = mapping.isDamaged == false
        #expect(repaired)
        let write = #expect(throws: IPCError.self) { try mapping.store(UInt32(1), at: 0) }
        #expect(write?.errno == .badAddress, "a write past the end of the (now empty) object")

        try memory.resize(to: page)
        try mapping.remap(length: page)
        let healthy = !mapping.isDamaged
        #expect(healthy)
        try mapping.store(UInt32(5), at: 0)
        #expect(try mapping.load(UInt32.self, at: 0) == 5)
    }

    @Test("a SIGBUS outside the library's mappings still gets its default action",
          .disabledUnderThreadSanitizer("TSan's own handler catches the peer's fatal SIGBUS and exits 66 instead of letting the signal's default action kill it"))
    func foreignSigbus() throws {
        var spawn = TestPeer.spawn("sigbus-foreign")
        // Swift's crash reporter, which would otherwise be the action before ours,
        // lingers here holding the peer's stdout open; the default action is the case.
        spawn.environment = .inheritUpdating(["SWIFT_BACKTRACE": "enable=no"])
        let result = try TestPeer.run(spawn)
        #expect(result.output.isEmpty)
        guard case .signalled(SIGBUS, _) = result.status else {
            Issue.record("expected death by SIGBUS, got \(result.status)")
            return
        }
    }

    @Test("anonymous shared memory reaches a spawned child through its descriptor (H2)")
    func anonymousMemoryInChild() throws {
        let memory = try PosixSharedMemory.anonymous(size: page, label: "ipct-h2")
        let mapping = try memory.map()
        try mapping.write(Array("from parent".utf8), at: 100)

        var reader = TestPeer.spawn("fd-map-read", "3", "100", "11")
        try reader.inherit(memory.descriptor, as: 3)
        #expect(try TestPeer.run(reader).output == "from parent")

        var writer = TestPeer.spawn("fd-map-write", "3", "200", "from child")
        try writer.inherit(memory.descriptor, as: 3)
        #expect(try TestPeer.run(writer).status == .exited(0))
        #expect(try mapping.read(count: 10, from: 200) == Array("from child".utf8))
    }

    @Test("a spawned program does not inherit this process's mappings (L3)")
    func mappingsDoNotCrossExec() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let mapping = try PosixSharedMemory.create(name, size: page).map()
        try mapping.store(UInt8(1), at: 0)
        let path = "/dev/shm" + name
        #expect(String(decoding: try readFile("/proc/self/maps"), as: UTF8.self).contains(path))
        #expect(try TestPeer.run(TestPeer.spawn("maps-contains", path)).output == "no")
    }

    @Test("the mapping is unmapped when its value goes away, or by unmap()")
    func unmapping() throws {
        let label = TestObjects.name("ipct-unmap")
        let memory = try PosixSharedMemory.anonymous(size: page, label: label)
        func mapped() -> Bool { (try? String(decoding: readFile("/proc/self/maps"), as: UTF8.self).contains("memfd:\(label) ")) ?? false }
        do {
            let mapping = try memory.map()
            try mapping.store(UInt8(1), at: 0)
            #expect(mapped())
        }
        #expect(!mapped())
        let mapping = try memory.map()
        #expect(mapped())
        try mapping.unmap()
        #expect(!mapped())
    }
}

/// The bytes of a file in /proc.
func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw IPCError.last("open", path: FilePath(path)) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { return bytes }
        bytes += buffer[0..<n]
    }
}
