@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Opening a shared memory name never waits for a partner and refuses what is not
/// a regular file (issue 8, item 3).
@Suite("POSIX shared memory: junk in /dev/shm")
struct SharedMemoryJunkTests {
    @Test("a FIFO is refused at once, read-only and read-write, by open and openOrCreate")
    func fifo() throws {
        let name = TestObjects.posixName("ipct-shm-junk")
        try DevShmFixture.fifo(String(name.dropFirst()))
        defer { TestObjects.remove(.devShmFile(String(name.dropFirst()))) }
        for attempt: () throws -> Void in [
            { _ = try PosixSharedMemory.open(name, access: .readOnly) },
            { _ = try PosixSharedMemory.open(name) },
            { _ = try PosixSharedMemory.openOrCreate(name, size: 16) },
        ] {
            let error = #expect(throws: IPCError.self) { try attempt() }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail == "is a FIFO, not a shared memory object")
            #expect(error?.object == "\"\(name)\"")
        }
    }

    @Test("a directory is EISDIR, not a 40-byte object")
    func directory() throws {
        let name = TestObjects.posixName("ipct-shm-junk")
        try DevShmFixture.directory(String(name.dropFirst()))
        defer { TestObjects.remove(.devShmFile(String(name.dropFirst()))) }
        let error = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(name, access: .readOnly) }
        #expect(error?.errno == .isDirectory)
        #expect(error?.detail == "is a directory, not a shared memory object")
    }

    @Test("a directory opened read-write (EINVAL from shm_open) and a socket (ENXIO) say what they are")
    func directoryReadWriteAndSocket() throws {
        let directory = TestObjects.sharedMemoryName(), socket = TestObjects.sharedMemoryName()
        try DevShmFixture.directory(String(directory.dropFirst()))
        defer { TestObjects.remove(.devShmFile(String(directory.dropFirst()))) }
        try DevShmFixture.socket(String(socket.dropFirst()))
        defer { TestObjects.remove(.devShmFile(String(socket.dropFirst()))) }
        let readWrite = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(directory) }
        #expect(readWrite?.detail == "is a directory, not a shared memory object", "\(String(describing: readWrite))")
        for access in [PosixSharedMemory.Access.readOnly, .readWrite] {
            let error = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(socket, access: access) }
            #expect(error?.detail == "is a socket, not a shared memory object", "\(String(describing: error))")
        }
    }

    @Test("a symbolic link is not followed: ELOOP, saying it is a link")
    func symbolicLink() throws {
        let name = TestObjects.posixName("ipct-shm-junk"), target = TestObjects.posixName("ipct-shm-junk")
        let memory = try PosixSharedMemory.create(target, size: 16)
        defer { TestObjects.remove(.sharedMemory(target)) }
        try DevShmFixture.symlink(String(name.dropFirst()), to: "/dev/shm" + target)
        defer { TestObjects.remove(.devShmFile(String(name.dropFirst()))) }
        let error = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(name, access: .readOnly) }
        #expect(error?.errno == .tooManySymbolicLinkLevels)
        #expect(error?.detail?.contains("symbolic link") == true)
        #expect(try memory.size == 16)
    }

    @Test("a regular object's descriptor does not keep O_NONBLOCK")
    func descriptorFlags() throws {
        let name = TestObjects.posixName("ipct-shm-junk")
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 16)
        #expect(fcntl(memory.descriptor.rawValue, F_GETFL) & O_NONBLOCK == 0)
        let opened = try PosixSharedMemory.open(name, access: .readOnly)
        #expect(fcntl(opened.descriptor.rawValue, F_GETFL) & O_NONBLOCK == 0)
    }
}
