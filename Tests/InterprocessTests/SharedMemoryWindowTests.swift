import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `PosixSharedMemory.map(covering:)` and `filesystemCapacity` (SPEC H3, H5).
@Suite("PosixSharedMemory windows")
struct SharedMemoryWindowTests {
    @Test("map(covering:) maps only the pages of the range; byte i is at i - offset")
    func window() throws {
        let page = MemoryMapping.pageSize
        let memory = try PosixSharedMemory.anonymous(size: 4 * page)
        try memory.map().write(Array("marker".utf8), at: 2 * page + 10)
        let window = try memory.map(covering: (2 * page + 10)..<(2 * page + 16))
        #expect(window.offset == 2 * page)
        #expect(window.length == 16)
        #expect(try window.read(count: 6, from: 10) == Array("marker".utf8))
        let spanning = try memory.map(covering: (page - 1)..<(page + 1))
        #expect(spanning.offset == 0 && spanning.length == page + 1)

        for range in [5..<5, -1..<3] {
            #expect(throws: IPCError.self) { _ = try memory.map(covering: range) }
            do { _ = try memory.map(covering: range) } catch { #expect(error.errno == .invalidArgument, "\(error)") }
        }
    }

    @Test("filesystemCapacity is the size of /dev/shm for a named object")
    func capacity() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 16)
        var info = statvfs()
        #expect(statvfs("/dev/shm", &info) == 0)
        #expect(try memory.filesystemCapacity == Int(info.f_blocks) * Int(info.f_frsize))
    }
}
