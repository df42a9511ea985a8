import CInterprocess
@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A named semaphore's file is checked against the C library's layout before use
/// (issue 8, items 1 and 12).
@Suite("POSIX semaphore layout")
struct PosixSemaphoreLayoutTests {
    /// The bytes of `/dev/shm/NAME`.
    static func fileBytes(_ name: String) throws -> [UInt8] {
        let fd = open("/dev/shm/" + name, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &bytes, bytes.count)
        try #require(count >= 0)
        return Array(bytes.prefix(count))
    }

    @Test("a file written by glibc's own sem_open is well-formed, with its value", arguments: [0, 1, 7, 2_147_483_647])
    func glibcSemaphore(value: Int) throws {
        let name = TestObjects.semaphoreName()
        guard let semaphore = name.withCString({ cipc_sem_create($0, O_EXCL, 0o600, CUnsignedInt(value)) }) else {
            Issue.record("sem_open failed: \(errno)")
            return
        }
        defer {
            sem_close(semaphore)
            sem_unlink(name)
        }
        let bytes = try Self.fileBytes(TestObjects.semaphoreFile(name))
        #expect(PosixSemaphoreLayout.size == 32)
        #expect(bytes.count == PosixSemaphoreLayout.size)
        #expect(try PosixSemaphoreLayout.validate(bytes, object: name) == UInt32(value))
        // The library makes the same bytes as sem_open writes.
        #expect(PosixSemaphoreLayout.newSemaphore(value: UInt32(value)) == bytes)
        // And the value moves where sem_post puts it.
        if value < 2_147_483_647 {
            #expect(sem_post(semaphore) == 0)
            #expect(try PosixSemaphoreLayout.validate(try Self.fileBytes(TestObjects.semaphoreFile(name)), object: name) == UInt32(value + 1))
        }
    }

    @Test("sem_init with pshared 1 lays a semaphore out the same way")
    func processSharedInit() throws {
        var semaphore = sem_t()
        #expect(sem_init(&semaphore, 1, 5) == 0)
        let bytes = withUnsafeBytes(of: &semaphore) { Array($0) }
        #expect(try PosixSemaphoreLayout.validate(bytes, object: "sem_init") == 5)
    }

    @Test("junk is EINVAL saying what is wrong", arguments: [
        ([], "not a semaphore: 0 bytes; a semaphore of this C library has 32"),
        (Array(String(repeating: "bogus semaphore text ", count: 2).utf8.prefix(40)),
         "not a semaphore: 40 bytes; a semaphore of this C library has 32"),
        (Array("bogus semaphore text, 32 bytes!!".utf8), "not a semaphore: its futex flag is 1752195437; a process-shared semaphore has 128"),
        ([0, 0, 0, 0x80] + [UInt8](repeating: 0, count: 4) + [0x80, 0, 0, 0] + [UInt8](repeating: 0, count: 20),
         "not a semaphore: value 2147483648 is above SEM_VALUE_MAX (2147483647)"),
        ([1] + [UInt8](repeating: 0, count: 31), "not a semaphore: its futex flag is 0; a process-shared semaphore has 128"),
        ([1] + [UInt8](repeating: 0, count: 7) + [0x73, 0x74, 0x75, 0x76] + [UInt8](repeating: 0, count: 20),
         "not a semaphore: its futex flag is 1987409011; a process-shared semaphore has 128"),
    ] as [([UInt8], String)])
    func junk(bytes: [UInt8], detail: String) {
        let error = #expect(throws: IPCError.self) { _ = try PosixSemaphoreLayout.validate(bytes, object: "\"/junk\"") }
        #expect(error?.errno == .invalidArgument)
        #expect(error?.object == "\"/junk\"")
        #expect(error?.detail == detail)
    }

    @Test("the waiter count and the padding may hold anything")
    func waitersAndPadding() throws {
        var bytes = PosixSemaphoreLayout.newSemaphore(value: 3)
        bytes[4] = 9
        bytes[20] = 0xff
        #expect(try PosixSemaphoreLayout.validate(bytes, object: "x") == 3)
    }
}
