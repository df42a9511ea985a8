@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Opening a shared memory name never waits for a partner and refuses what is not
/// a regular file (issue 8, item 3).
@Suite("POSIX shared memory: junk in /dev/shm")
struct SharedMemoryJunkTests {
    static func uniqueMemoryName() -> String { "/" + uniqueName("ipct-shm-junk") }

    @Test("a FIFO is refused at once, read-only and read-write, by open and openOrCreate")
    func fifo() throws {
        let name = Self.uniqueMemoryName()
        try DevShmFixture.fifo(String(name.dropFirst()))
        defer { DevShmFixture.remove(String(name.dropFirst())) }
        for attempt: () throws -> Void in [
            { _ = try SharedMemory.open(name, access: .readOnly) },
            { _ = try SharedMemory.open(name) },
            { _ = try SharedMemory.openOrCreate(name, size: 16) },
        ] {
            let error = #expect(throws: IPCError.self) { try attempt() }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail == "is a FIFO, not a shared memory object")
            #expect(error?.object == "\"\(name)\"")
        }
    }

    @Test("a directory is EISDIR, not a 40-byte object")
    func directory() throws {
        let name = Self.uniqueMemoryName()
        try DevShmFixture.directory(String(name.dropFirst()))
        defer { DevShmFixture.remove(String(name.dropFirst())) }
        let error = #expect(throws: IPCError.self) { _ = try SharedMemory.open(name, access: .readOnly) }
        #expect(error?.errno == .isDirectory)
        #expect(error?.detail == "is a directory, not a shared memory object")
    }

    @Test("a directory opened read-write (EINVAL from shm_open) and a socket (ENXIO) say what they are")
    func directoryReadWriteAndSocket() throws {
        let directory = Self.uniqueMemoryName(), socket = Self.uniqueMemoryName()
        try DevShmFixture.directory(String(directory.dropFirst()))
        defer { DevShmFixture.remove(String(directory.dropFirst())) }
        try DevShmFixture.socket(String(socket.dropFirst()))
        defer { DevShmFixture.remove(String(socket.dropFirst())) }
        let readWrite = #expect(throws: IPCError.self) { _ = try SharedMemory.open(directory) }
        #expect(readWrite?.detail == "is a directory, not a shared memory object", "\(String(describing: readWrite))")
        for access in [SharedMemory.Access.readOnly, .readWrite] {
            let error = #expect(throws: IPCError.self) { _ = try SharedMemory.open(socket, access: access) }
            #expect(error?.detail == "is a socket, not a shared memory object", "\(String(describing: error))")
        }
    }

    @Test("a symbolic link is not followed: ELOOP, saying it is a link")
    func symbolicLink() throws {
        let name = Self.uniqueMemoryName(), target = Self.uniqueMemoryName()
        let memory = try SharedMemory.create(target, size: 16)
        defer { try? SharedMemory.unlink(target) }
        try DevShmFixture.symlink(String(name.dropFirst()), to: "/dev/shm" + target)
        defer { DevShmFixture.remove(String(name.dropFirst())) }
        let error = #expect(throws: IPCError.self) { _ = try SharedMemory.open(name, access: .readOnly) }
        #expect(error?.errno == .tooManySymbolicLinkLevels)
        #expect(error?.detail?.contains("symbolic link") == true)
        #expect(try memory.size == 16)
    }

    @Test("a regular object's descriptor does not keep O_NONBLOCK")
    func descriptorFlags() throws {
        let name = Self.uniqueMemoryName()
        defer { try? SharedMemory.unlink(name) }
        let memory = try SharedMemory.create(name, size: 16)
        #expect(fcntl(memory.descriptor.rawValue, F_GETFL) & O_NONBLOCK == 0)
        let opened = try SharedMemory.open(name, access: .readOnly)
        #expect(fcntl(opened.descriptor.rawValue, F_GETFL) & O_NONBLOCK == 0)
    }
}

/// `ipc shm stat|read` on a FIFO or a directory: a prompt error (issue 8, item 3).
@Suite("ipc shm: junk in /dev/shm")
struct SharedMemoryJunkCommandTests {
    @Test("stat and read of a FIFO return promptly with an error; of a directory too")
    func fifoAndDirectory() throws {
        let fifo = SharedMemoryJunkTests.uniqueMemoryName(), directory = SharedMemoryJunkTests.uniqueMemoryName()
        try DevShmFixture.fifo(String(fifo.dropFirst()))
        try DevShmFixture.directory(String(directory.dropFirst()))
        defer {
            DevShmFixture.remove(String(fifo.dropFirst()))
            DevShmFixture.remove(String(directory.dropFirst()))
        }
        for command in ["stat", "read"] {
            let onFIFO = try IPCTool.run(["shm", command, fifo], timeout: .seconds(30))
            #expect(!onFIFO.timedOut, "ipc shm \(command) waited on a FIFO")
            #expect(onFIFO.status == .exited(1))
            #expect(onFIFO.stderr.contains("is a FIFO, not a shared memory object"), "\(onFIFO.stderr)")
            let onDirectory = try IPCTool.run(["shm", command, directory], timeout: .seconds(30))
            #expect(onDirectory.status == .exited(1))
            #expect(onDirectory.stdout.isEmpty)
            #expect(onDirectory.stderr.contains("is a directory, not a shared memory object"), "\(onDirectory.stderr)")
        }
    }
}
