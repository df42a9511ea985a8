@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Waits (up to 30 s, to turn a hang into a failure) until a worker of the waiting
/// engine sleeps in the futex of `semaphore` (its value word, at offset 0); returns
/// that worker.
@discardableResult
func waitUntilWaiting(on semaphore: UnsafeMutablePointer<sem_t>) async throws -> pid_t {
    try #require(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: hexArgument(semaphore)),
                 "the async wait never started")
}

/// Waits (up to a minute) until some thread — in this process or another — sleeps
/// on the named semaphore: its waiter count (glibc's layout, bytes 4..<8) is
/// non-zero. Each open maps the file anew, so the count is the shared witness.
func waitUntilWaiting(onNamed semaphore: borrowing PosixSemaphore) async throws {
    let deadline = Deadline.after(.seconds(60))
    while try PosixSemaphoreLayout.word(semaphore.mapping.read(count: PosixSemaphoreLayout.size, from: 0), at: 4) == 0 {
        try #require(!deadline.hasPassed, "the wait never started")
        await Task.yield()
    }
}

@Suite("POSIX named semaphores (Y1, L3)")
struct PosixSemaphoreTests {
    @Test("create is exclusive with mode 0600; wait, tryWait, post and value; unlink removes sem.NAME")
    func basics() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name, value: 2)
        var status = stat()
        #expect(stat("/dev/shm/" + TestObjects.semaphoreFile(name), &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(try semaphore.value == 2)
        try semaphore.wait()
        #expect(try semaphore.tryWait())
        #expect(try semaphore.tryWait() == false, "EAGAIN is false, not an error")
        try semaphore.post()
        #expect(try semaphore.value == 1)

        let again = #expect(throws: IPCError.self) { _ = try PosixSemaphore.create(name) }
        #expect(again?.errno == .fileExists)
        #expect(again?.description.hasPrefix("sem_open(\"\(name)\"): file exists (EEXIST)") == true)
        let existing = try PosixSemaphore.openOrCreate(name, value: 9)
        #expect(try existing.value == 1, "an existing semaphore keeps its value")
        try existing.close()

        try PosixSemaphore.unlink(name)
        #expect(!devShmContains(TestObjects.semaphoreFile(name)))
        let missing = #expect(throws: IPCError.self) { _ = try PosixSemaphore.open(name) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
    }

    @Test("posts from another process wake waits here, and the other way round")
    func betweenProcesses() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name)
        #expect(try TestPeer.run(TestPeer.spawn("sem-post", name, "3")).status == .exited(0))
        for _ in 0..<3 { try semaphore.wait(timeout: .seconds(30)) }
        #expect(try semaphore.tryWait() == false)

        var waiter = try TestPeer.spawn("sem-wait", name, "30000").start()
        try semaphore.post()
        #expect(try waiter.wait() == .exited(0))
        #expect(try semaphore.value == 0, "the peer took the post")
    }

    @Test("a timed wait gives up at its deadline and is woken by a post before it")
    func timedWait() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name)
        let start = Deadline.now
        #expect(try timesOut { try semaphore.wait(until: .after(.milliseconds(50))) })
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 50_000_000)
        #expect(try timesOut { try semaphore.wait(until: .now) }, "a past deadline does not block")

        var poster = try TestPeer.spawn("sem-post", name, "1").start()
        try semaphore.wait(timeout: .seconds(30))
        #expect(try poster.wait() == .exited(0))
    }

    @Test("values above SEM_VALUE_MAX are EINVAL before the call; posting past it is EOVERFLOW")
    func valueLimits() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        #expect(PosixSemaphore.maximumValue == Int(Int32.max))
        let tooBig = #expect(throws: IPCError.self) { _ = try PosixSemaphore.create(name, value: PosixSemaphore.maximumValue + 1) }
        #expect(tooBig?.errno == .invalidArgument)
        #expect(tooBig?.detail?.contains("SEM_VALUE_MAX") == true)
        #expect(!devShmContains(TestObjects.semaphoreFile(name)), "refused before sem_open")
        let negative = #expect(throws: IPCError.self) { _ = try PosixSemaphore.create(name, value: -1) }
        #expect(negative?.errno == .invalidArgument)

        let full = try PosixSemaphore.create(name, value: PosixSemaphore.maximumValue)
        let overflow = #expect(throws: IPCError.self) { try full.post() }
        #expect(overflow?.errno == .overflow)
        #expect(try full.value == PosixSemaphore.maximumValue)
    }

    @Test("bad names are refused before the call")
    func badNames() throws {
        for (name, errno) in [("ready", Errno.invalidArgument), ("/a/b", .invalidArgument), ("/", .invalidArgument),
                              ("/" + String(repeating: "s", count: PosixIPCName.semaphoreMaximum + 1), .fileNameTooLong)] {
            let error = #expect(throws: IPCError.self) { _ = try PosixSemaphore.create(name) }
            #expect(error?.errno == errno, "\(name)")
            let unlink = #expect(throws: IPCError.self) { try PosixSemaphore.unlink(name) }
            #expect(unlink?.errno == errno, "\(name)")
        }
        let base = TestObjects.name("ipct-long")
        let longest = "/" + base + String(repeating: "s", count: PosixIPCName.semaphoreMaximum - base.count)
        defer { TestObjects.remove(.semaphore(longest)) }
        _ = try PosixSemaphore.create(longest)
        try PosixSemaphore.unlink(longest)
    }

    @Test("a semaphore outlives the process that created it, until unlinked (L3)")
    func persistence() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        #expect(try TestPeer.run(TestPeer.spawn("sem-create-and-exit", name, "5")).status == .exited(0))
        #expect(try PosixSemaphore.open(name).value == 5)
    }

    @Test("unlink defers destruction: holders keep using it; the name is free at once")
    func deferredDestruction() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name, value: 1)
        try PosixSemaphore.unlink(name)
        #expect(try TestPeer.run(TestPeer.spawn("sem-open-status", name)).output == "ENOENT")
        try semaphore.post()
        #expect(try semaphore.value == 2)
        #expect(try semaphore.tryWait())
        let fresh = try PosixSemaphore.create(name, value: 7)
        #expect(try fresh.value == 7)
        #expect(try semaphore.value == 1, "the unlinked semaphore is a different one")
    }

    @Test("a 0600 semaphore refuses an unprivileged process (EACCES)", .enabled(if: getuid() == 0, "needs root to switch users"))
    func permissionDenied() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        _ = try PosixSemaphore.create(name)
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "sem-open-status", name)).output == "EACCES")
        #expect(try TestPeer.run(TestPeer.spawn("sem-open-status", name)).output == "ok")
    }

    @Test("an async wait is woken by another process's post")
    func asyncWait() async throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name)
        async let poster = TestPeer.run(TestPeer.spawn("sem-post", name, "1")).status
        try await semaphore.waitAsync()
        #expect(try await poster == .exited(0))
        #expect(try await timesOut { try await semaphore.waitAsync(until: .after(.milliseconds(20))) })
    }

    @Test("cancelling an async wait ends it promptly and takes nothing")
    func asyncCancellation() async throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name)
        let waiting = Task {
            let semaphore = try PosixSemaphore.open(name)
            try await semaphore.waitAsync()
        }
        try await waitUntilWaiting(onNamed: semaphore)
        let start = Deadline.now
        waiting.cancel()
        let outcome = await waiting.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        // The wait has no deadline: it ended only because the cancellation interrupted
        // it. The bound only keeps a broken build from hanging here.
        #expect(Deadline.now.nanoseconds - start.nanoseconds < 30_000_000_000)
        try semaphore.post()
        #expect(try semaphore.value == 1, "the cancelled wait did not consume the post")
    }

    @Test("sem_post from a signal handler in another process wakes a waiter here")
    func postFromSignalHandler() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name)
        let output = try Pipe()
        var spawn = TestPeer.spawn("sem-post-on-signal", name, "\(SIGUSR1)")
        try spawn.inherit(output.writer.descriptor, as: 1)
        var peer = try spawn.start()
        try output.writer.close()
        var said: [UInt8] = []
        while !said.contains(UInt8(ascii: "\n")) {
            let chunk = try output.reader.read(upTo: 64)
            if chunk.isEmpty { break }
            said += chunk
        }
        #expect(String(decoding: said, as: UTF8.self) == "ready\n")
        #expect(try semaphore.value == 0)
        try peer.signal(SIGUSR1)
        try semaphore.wait(timeout: .seconds(30))  // the handler posted
        #expect(try peer.wait() == .exited(0))
    }
}
