import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The one fixture for what the tests make in the system: unique names for every
/// kind of object, and their removal when a test's scope ends.
///
/// Names and keys are host-wide and the suite runs tests in parallel (and may run
/// beside another run of itself), so every name carries the pid and random bits.
/// A test removes what it made with `defer { TestObjects.remove(.queue(name)) }`
/// (removing what is already gone is fine), or lets `withQueueName` check that it
/// removed its queue itself; either way the suite leaves nothing behind.
enum TestObjects {
    // MARK: names

    /// `prefix-PID-RANDOM`: a name no other test or run uses.
    static func name(_ prefix: String) -> String {
        "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A POSIX IPC name, `/prefix-PID-RANDOM`, for a queue, a shared memory
    /// object or a named semaphore.
    static func posixName(_ prefix: String) -> String { "/" + name(prefix) }

    /// A named semaphore's name (`/ipct-sem-PID-RANDOM`).
    static func semaphoreName() -> String { posixName("ipct-sem") }

    /// A shared memory object's name (`/ipct-shm-PID-RANDOM`).
    static func sharedMemoryName() -> String { posixName("ipct-shm") }

    /// The file glibc keeps the named semaphore `name` in, under /dev/shm (`sem.NAME`).
    static func semaphoreFile(_ name: String) -> String { "sem." + name.dropFirst() }

    /// A path in /tmp no one else uses: `/tmp/prefix-PID-RANDOM` + `suffix`.
    static func temporaryPath(_ prefix: String, suffix: String = "") -> String { "/tmp/" + name(prefix) + suffix }

    /// A path for a Unix socket in /tmp.
    static func socketPath() -> FilePath { FilePath(temporaryPath("sock")) }

    /// A System V key no other test (or program) is likely to use: the tests' own
    /// high byte 0x5e, then random bits. Keys are host-wide, like names.
    static func systemVKey() -> IPCKey {
        IPCKey(rawValue: key_t(bitPattern: 0x5e00_0000 | UInt32.random(in: 1...0x00ff_ffff)))
    }

    // MARK: removal

    /// Removes what a test made, whatever state the test left it in: an object
    /// already gone is fine, and errors are ignored (the removal is cleanup).
    static func remove(_ object: TestObject) { object.remove() }

    /// A unique queue name (`/mq-test-PID-RANDOM`) for `body`; afterwards checks that
    /// the test removed its queue (and removes it if not, so one failure leaks nothing).
    static func withQueueName<R>(_ body: (String) throws -> R) throws -> R {
        let name = posixName("mq-test")
        defer { expectRemoved(name) }
        return try body(name)
    }

    static func withQueueName<R>(_ body: (String) async throws -> R) async throws -> R {
        let name = posixName("mq-test")
        defer { expectRemoved(name) }
        return try await body(name)
    }

    private static func expectRemoved(_ name: String) {
        do {
            try PosixMessageQueue.unlink(name)
            Issue.record("the test left queue \(name) behind")
        } catch {
            #expect(error.errno == .noSuchFileOrDirectory, "\(error)")
        }
    }
}

/// Something a test made, as `TestObjects.remove` takes it.
struct TestObject {
    let remove: () -> Void

    /// A POSIX message queue (`mq_unlink`).
    static func queue(_ name: String) -> TestObject { TestObject { try? PosixMessageQueue.unlink(name) } }
    static func queue(_ name: PosixIPCName) -> TestObject { TestObject { try? PosixMessageQueue.unlink(name) } }
    /// A POSIX shared memory object (`shm_unlink`).
    static func sharedMemory(_ name: String) -> TestObject { TestObject { try? PosixSharedMemory.unlink(name) } }
    static func sharedMemory(_ name: PosixIPCName) -> TestObject { TestObject { try? PosixSharedMemory.unlink(name) } }
    /// A named POSIX semaphore (`sem_unlink`).
    static func semaphore(_ name: String) -> TestObject { TestObject { try? PosixSemaphore.unlink(name) } }
    static func semaphore(_ name: PosixIPCName) -> TestObject { TestObject { try? PosixSemaphore.unlink(name) } }
    /// A FIFO (`unlink`).
    static func fifo(_ path: FilePath) -> TestObject { TestObject { try? FIFO.unlink(path) } }
    /// A file, socket or link (`unlink`).
    static func file(_ path: String) -> TestObject { TestObject { _ = unlink(path) } }
    static func file(_ path: FilePath) -> TestObject { file(path.string) }
    /// `/dev/shm/FILE`, whatever it is (a file, FIFO, link or empty directory).
    static func devShmFile(_ file: String) -> TestObject { devShmFile(Array(file.utf8)) }
    /// `/dev/shm/FILE` given as exact bytes.
    static func devShmFile(_ file: [UInt8]) -> TestObject {
        TestObject {
            let path = (Array("/dev/shm/".utf8) + file + [0]).map { CChar(bitPattern: $0) }
            if unlink(path) != 0 { rmdir(path) }
        }
    }
    /// A System V object by id (`IPC_RMID`).
    static func systemV(_ kind: SystemVKind, id: Int32) -> TestObject { TestObject { try? kind.remove(id: id) } }
}
