import CInterprocess
@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A named semaphore's file that is not a well-formed semaphore is refused before
/// anything touches it, and one rewritten or truncated later makes calls fail, not
/// the process crash (issue 8, item 1).
@Suite("POSIX named semaphores: junk in /dev/shm")
struct PosixSemaphoreJunkTests {
    static let fortyBytesOfText = Array("Lorem ipsum dolor sit amet, consectetur.".utf8)
    static let thirtyTwoBytesOfText = Array("bogus semaphore text, 32 bytes!!".utf8)

    @Test("a directory (EISDIR) and a socket (ENXIO) under the name say what they are")
    func directoryAndSocket() throws {
        let directory = TestObjects.semaphoreName(), socket = TestObjects.semaphoreName()
        try DevShmFixture.directory(TestObjects.semaphoreFile(directory))
        defer { TestObjects.remove(.devShmFile(TestObjects.semaphoreFile(directory))) }
        try DevShmFixture.socket(TestObjects.semaphoreFile(socket))
        defer { TestObjects.remove(.devShmFile(TestObjects.semaphoreFile(socket))) }
        let isDirectory = #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(directory) }
        #expect(isDirectory?.detail == "is a directory, not a semaphore", "\(String(describing: isDirectory))")
        let isSocket = #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(socket) }
        #expect(isSocket?.detail == "is a socket, not a semaphore", "\(String(describing: isSocket))")
    }

    @Test("a file of the wrong size or contents is EINVAL saying why, for open and openOrCreate", arguments: [
        ([], "not a semaphore: 0 bytes; a semaphore of this C library has 32"),
        (fortyBytesOfText, "not a semaphore: 40 bytes; a semaphore of this C library has 32"),
        (thirtyTwoBytesOfText, "not a semaphore: its futex flag is 1752195437; a process-shared semaphore has 128"),
        (PosixSemaphoreLayout.newSemaphore(value: 0).enumerated().map { $0.offset == 3 ? 0x80 : $0.element },
         "not a semaphore: value 2147483648 is above SEM_VALUE_MAX (2147483647)"),
    ] as [([UInt8], String)])
    func malformedFile(bytes: [UInt8], detail: String) throws {
        let name = TestObjects.semaphoreName()
        try DevShmFixture.file(TestObjects.semaphoreFile(name), bytes)
        defer { TestObjects.remove(.devShmFile(TestObjects.semaphoreFile(name))) }
        for attempt: () throws -> Void in [
            { _ = try PosixSemaphore.open(name) },
            { _ = try PosixSemaphore.openOrCreate(name, value: 1) },
        ] {
            let error = #expect(throws: IPCError.self) { try attempt() }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.operation == "sem_open")
            #expect(error?.object == "\"\(name)\"")
            #expect(error?.detail == detail)
        }
        let exists = #expect(throws: IPCError.self) { _ = try PosixSemaphore.create(name) }
        #expect(exists?.errno == .fileExists)
        var status = stat()
        #expect(stat("/dev/shm/" + TestObjects.semaphoreFile(name), &status) == 0 && Int(status.st_size) == bytes.count, "left as it was")
    }

    @Test("a FIFO, a directory or a symbolic link under the name is refused at once")
    func notRegularFiles() throws {
        let fifo = TestObjects.semaphoreName(), directory = TestObjects.semaphoreName(), link = TestObjects.semaphoreName(), real = TestObjects.semaphoreName()
        try DevShmFixture.fifo(TestObjects.semaphoreFile(fifo))
        try DevShmFixture.directory(TestObjects.semaphoreFile(directory))
        let semaphore = try PosixSemaphore.create(real, value: 3)
        try DevShmFixture.symlink(TestObjects.semaphoreFile(link), to: "/dev/shm/" + TestObjects.semaphoreFile(real))
        defer {
            for name in [fifo, directory, link, real] { TestObjects.remove(.devShmFile(TestObjects.semaphoreFile(name))) }
        }
        let fifoError = #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(fifo) }
        #expect(fifoError?.errno == .invalidArgument)
        #expect(fifoError?.detail == "is a FIFO, not a semaphore")
        let directoryError = #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(directory) }
        #expect(directoryError?.errno == .isDirectory)
        let linkError = #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(link) }
        #expect(linkError?.errno == .tooManySymbolicLinkLevels)
        #expect(linkError?.detail?.contains("symbolic link") == true)
        #expect(try semaphore.value == 3)
    }

    @Test("a semaphore overwritten with junk after it was opened fails each call with EINVAL")
    func rewrittenLater() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name, value: 1)
        // Junk with a waiter count, so glibc's sem_post would call the futex with a
        // garbage operation and abort the process.
        var junk = Self.thirtyTwoBytesOfText
        junk[4] = 1
        try DevShmFixture.overwrite(TestObjects.semaphoreFile(name), junk)
        for call: () throws -> Void in [
            { try semaphore.post() },
            { _ = try semaphore.tryWait() },
            { _ = try semaphore.wait(until: .after(.milliseconds(10))) },
            { try semaphore.wait() },
            { _ = try semaphore.value },
        ] {
            let error = #expect(throws: IPCError.self) { try call() }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail?.contains("not hold a semaphore") == true, "\(String(describing: error))")
        }
        // A value above SEM_VALUE_MAX (with a proper flag) is refused too, not used.
        try DevShmFixture.overwrite(TestObjects.semaphoreFile(name), PosixSemaphoreLayout.newSemaphore(value: 0).enumerated().map { $0.offset == 3 ? 0xff : $0.element })
        #expect(throws: IPCError.self) { _ = try semaphore.value }
        #expect(throws: IPCError.self) { try semaphore.post() }
        #expect(throws: IPCError.self) { _ = try semaphore.tryWait() }
    }

    @Test("a semaphore in shared memory overwritten by a peer fails with EINVAL, not an abort in the futex code")
    func mappedSemaphoreOverwritten() throws {
        var layout = try SharedLayout(type: "overwritten", version: 1)
        let place = try layout.semaphore(value: 0)
        let placed = try PlacedMapping.create(layout, in: MemoryMapping.anonymous(length: layout.size, sharing: .shared))
        var junk = Self.thirtyTwoBytesOfText
        junk[4] = 1  // a waiter, so a post would wake the futex with the junk flag
        try placed.mapping.write(junk, at: place.offset)
        let error = #expect(throws: IPCError.self) {
            try placed.withSemaphore(place) { try $0.post() }
        }
        #expect(error?.errno == .invalidArgument)
    }

    @Test("a semaphore truncated by another process after it was opened fails with EFAULT, no SIGBUS")
    func truncatedLater() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name, value: 1)
        #expect(truncate("/dev/shm/" + TestObjects.semaphoreFile(name), 0) == 0)
        let error = #expect(throws: IPCError.self) { try semaphore.post() }
        #expect(error?.errno == .badAddress)
        #expect(throws: IPCError.self) { _ = try semaphore.value }
    }

    @Test("creation is exclusive and atomic: racing creators make one semaphore, nothing else is left in /dev/shm")
    func racingCreators() async throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let before = Set(try devShmEntries())
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { (try? PosixSemaphore.create(name, value: 5)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try PosixSemaphore.open(name).value == 5)
        // glibc links a temporary sem.XXXXXX; the library links an unnamed file, so a
        // creator leaves no other name behind (names of other tests running now
        // all contain a "-").
        let added = Set(try devShmEntries()).subtracting(before).filter { $0.hasPrefix("sem.") && !$0.contains("-") }
        #expect(added.isEmpty, "\(added)")
        #expect(devShmContains(TestObjects.semaphoreFile(name)))
    }

    func devShmEntries() throws -> [String] {
        guard let directory = opendir("/dev/shm") else { throw IPCError.last("opendir") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names
    }

    @Test("interoperates with glibc's sem_open and sem_post on the same name, waking included")
    func interoperatesWithGlibc() async throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        guard let glibc = name.withCString({ cipc_sem_create($0, O_EXCL, 0o600, 2) }) else {
            Issue.record("sem_open failed: \(errno)")
            return
        }
        defer { sem_close(glibc) }
        let semaphore = try PosixSemaphore.open(name)
        #expect(try semaphore.value == 2)
        try semaphore.post()
        var value: CInt = 0
        #expect(sem_getvalue(glibc, &value) == 0 && value == 3)
        #expect(try semaphore.tryWait() && semaphore.tryWait() && semaphore.tryWait())
        // A library waiter registers itself where glibc's sem_post looks, so a glibc post wakes it.
        let waiter = Task { try await PosixSemaphore.open(name).waitAsync(until: .after(.seconds(60))) }
        try await waitUntilWaiting(onNamed: semaphore)
        #expect(sem_post(glibc) == 0)
        try await waiter.value
        #expect(sem_getvalue(glibc, &value) == 0 && value == 0)
    }
}
