@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A unique FIFO path in /tmp, removed by the test.
private func fifoPath(_ prefix: String = "ipc-fifo") -> FilePath {
    FilePath(TestObjects.temporaryPath(prefix))
}

private func mode(of path: FilePath) -> mode_t {
    var info = stat()
    _ = lstat(path.string, &info)
    return info.st_mode
}

@Suite("FIFOs (S4)")
struct FIFOTests {
    // MARK: create, check, remove

    @Test("create makes a FIFO with mode 0600 by default, exclusively")
    func create() throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }
        #expect(try FIFO.isFIFO(path))
        #expect(mode(of: path) & S_IFMT == S_IFIFO)
        #expect(mode(of: path) & 0o777 == 0o600)

        let error = #expect(throws: IPCError.self) { try FIFO.create(at: path) }
        #expect(error?.errno == .fileExists)
        #expect(error?.description == "mkfifo(\"\(path.string)\"): file exists (EEXIST)")

        let bad = #expect(throws: IPCError.self) { try FIFO.create(at: fifoPath(), permissions: .init(rawValue: 0o4600)) }
        #expect(bad?.errno == .invalidArgument)
    }

    @Test("create, check, open and unlink relative to a directory descriptor")
    func relativeToDirectory() throws {
        let directory = OwnedDescriptor(adopting: try FileDescriptor.open("/tmp", .readOnly, options: [.directory, .closeOnExec]))
        let name = FilePath(TestObjects.name("ipc-fifo-at"))
        try FIFO.create(at: name, relativeTo: directory, permissions: .init(rawValue: 0o640))
        defer { try? FIFO.unlink(name, relativeTo: directory) }
        #expect(try FIFO.isFIFO(name, relativeTo: directory))
        #expect(try FIFO.isFIFO(FilePath("/tmp").appending(name.components)))
        #expect(mode(of: FilePath("/tmp").appending(name.components)) & 0o777 == 0o640 & ~currentUmask())

        let reader = try FIFO.openForReading(name, relativeTo: directory, nonBlocking: true)
        let writer = try FIFO.openForWriting(name, relativeTo: directory, nonBlocking: true)
        try writer.write(all: Array("at".utf8))
        #expect(try reader.read(upTo: 8) == Array("at".utf8))
        try FIFO.unlink(name, relativeTo: directory)
        #expect(try !FIFO.isFIFO(name, relativeTo: directory))
    }

    @Test("isFIFO is false for a regular file, a link to a FIFO and a missing path")
    func isFIFO() throws {
        let fifo = fifoPath(), file = fifoPath("ipc-file"), link = fifoPath("ipc-link")
        try FIFO.create(at: fifo)
        defer { TestObjects.remove(.fifo(fifo)); TestObjects.remove(.file(file.string)); TestObjects.remove(.file(link.string)) }
        close(open(file.string, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
        #expect(symlink(fifo.string, link.string) == 0)

        #expect(try FIFO.isFIFO(fifo))
        #expect(try !FIFO.isFIFO(file))
        #expect(try !FIFO.isFIFO(link))
        #expect(try !FIFO.isFIFO(fifoPath("ipc-missing")))
    }

    @Test("opening what is not a FIFO is refused with EINVAL, never blocks")
    func refusesNonFIFO() throws {
        let fifo = fifoPath(), file = fifoPath("ipc-file"), link = fifoPath("ipc-link")
        try FIFO.create(at: fifo)
        defer { TestObjects.remove(.fifo(fifo)); TestObjects.remove(.file(file.string)); TestObjects.remove(.file(link.string)) }
        close(open(file.string, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
        #expect(symlink(fifo.string, link.string) == 0)

        let regular = #expect(throws: IPCError.self) { _ = try FIFO.openForReading(file) }
        #expect(regular?.errno == .invalidArgument)
        #expect(regular?.detail == "it is a regular file, not a FIFO")
        let directory = #expect(throws: IPCError.self) { _ = try FIFO.openForWriting("/tmp", until: .after(.seconds(30))) }
        #expect(directory?.errno == .invalidArgument)
        // A link is not followed, even to a FIFO.
        let linked = #expect(throws: IPCError.self) { _ = try FIFO.openForReading(link, nonBlocking: true) }
        #expect(linked?.errno == .invalidArgument)
        let missing = #expect(throws: IPCError.self) { _ = try FIFO.openForReading(fifoPath("ipc-missing")) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
    }

    // MARK: the POSIX open rules

    @Test("non-blocking: a read-only open succeeds at once, a write-only open with no reader fails ENXIO")
    func nonBlockingOpens() throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }

        let error = #expect(throws: IPCError.self) { _ = try FIFO.openForWriting(path, nonBlocking: true) }
        #expect(error?.errno == .noSuchAddressOrDevice)

        let reader = try FIFO.openForReading(path, nonBlocking: true)
        #expect(try reader.descriptor.isNonBlocking)
        #expect(try reader.descriptor.isCloseOnExec)
        let writer = try FIFO.openForWriting(path, nonBlocking: true)  // a reader exists now
        #expect(try writer.descriptor.statusFlags & O_ACCMODE == O_WRONLY)
    }

    @Test("a blocking read-only open in another process waits for a writer; unlink while open")
    func blockingOpenWaitsForWriter() throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }

        let output = try Pipe()
        let fromPeer = output.reader
        let peerStdout = output.writer
        var spawn = TestPeer.spawn("fifo-read", path.string)
        try spawn.inherit(peerStdout.descriptor, as: 1)
        var child = try spawn.start()
        try peerStdout.close()
        var ready = [UInt8](repeating: 0, count: 6)
        _ = try ready.withUnsafeMutableBytes { try fromPeer.descriptor.read(exactly: $0) }
        #expect(ready == Array("ready\n".utf8))

        // No writer: the peer is still waiting in its open.
        #expect(try timesOut { _ = try child.wait(until: .after(.milliseconds(300))) })

        let writer = try FIFO.openForWriting(path)  // blocking; the peer is the reader
        try FIFO.unlink(path)                       // both ends are open: they keep working
        #expect(try !FIFO.isFIFO(path))
        try writer.write(all: Array("through an unlinked FIFO".utf8))
        try writer.close()

        #expect(try child.wait() == .exited(0))
        #expect(String(decoding: try fromPeer.readToEnd(), as: UTF8.self) == "through an unlinked FIFO\n")
    }

    @Test("a time-bounded open waits for the partner process")
    func timedOpenWaitsForPartner() throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }
        var child = try TestPeer.spawn("fifo-write", path.string, "from the peer").start()
        let reader = try FIFO.openForReading(path, until: .after(.seconds(60)))
        #expect(try reader.descriptor.isNonBlocking == false)
        #expect(String(decoding: try reader.readToEnd(), as: UTF8.self) == "from the peer")
        #expect(try child.wait() == .exited(0))
    }

    @Test("an async open waits for the partner process without blocking the pool")
    func asyncOpenWaitsForPartner() async throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }

        let output = try Pipe()
        var spawn = TestPeer.spawn("fifo-read", path.string)
        try spawn.inherit(output.writer.descriptor, as: 1)
        var child = try spawn.start()
        try output.writer.close()

        let writer = try await FIFO.openForWritingAsync(path)
        try await writer.writeAsync(all: Array("async".utf8))
        try writer.close()
        #expect(try await child.waitAsync() == .exited(0))
        #expect(String(decoding: try await output.reader.readToEndAsync(), as: UTF8.self) == "ready\nasync\n")
    }

    @Test("time-bounded opens with no partner throw ETIMEDOUT, for either end")
    func timedOpenTimesOut() throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }

        let start = Deadline.now
        let reading = #expect(throws: IPCError.self) { _ = try FIFO.openForReading(path, until: .after(.milliseconds(150))) }
        #expect(reading?.errno == .timedOut)
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 140_000_000)

        let writing = #expect(throws: IPCError.self) { _ = try FIFO.openForWriting(path, until: .after(.milliseconds(50))) }
        #expect(writing?.errno == .timedOut)

        // Nothing of the interrupted opens is left open: a non-blocking writer finds
        // no reader.
        let after = #expect(throws: IPCError.self) { _ = try FIFO.openForWriting(path, nonBlocking: true) }
        #expect(after?.errno == .noSuchAddressOrDevice)
    }

    @Test("an async open with a deadline throws ETIMEDOUT")
    func asyncOpenTimesOut() async throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }
        await #expect(throws: IPCError(.timedOut, operation: "open", object: "\"\(path.string)\"",
                                       detail: "no process opened the FIFO for writing in time")) {
            _ = try await FIFO.openForReadingAsync(path, until: .after(.milliseconds(50)))
        }
    }

    @Test("a cancelled async open ends promptly with CancellationError", arguments: [false, true])
    func cancelledAsyncOpen(forWriting: Bool) async throws {
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }
        let task = Task {
            if forWriting { _ = try await FIFO.openForWritingAsync(path) } else { _ = try await FIFO.openForReadingAsync(path) }
        }
        // Cancel once a worker is inside openat(2), i.e. the open is really
        // waiting for a partner.
        let worker = try #require(await engineWorker(blockedIn: [SyscallNumber.openat]), "no worker waits in openat")
        task.cancel()
        let outcome = await result(of: task, within: .seconds(30))
        #expect(outcome != nil, "the cancelled open did not end")
        #expect(throws: CancellationError.self) { try outcome?.get() }
        #expect(await leftCall(worker, [SyscallNumber.openat]), "the worker is still in openat")
    }

    // MARK: permissions

    @Test("a FIFO made 0600 by root cannot be opened by another user (EACCES)")
    func permissionDenied() throws {
        try #require(geteuid() == 0, "needs root to drop to another user")
        let path = fifoPath()
        try FIFO.create(at: path)
        defer { TestObjects.remove(.fifo(path)) }

        let denied = try TestPeer.run(TestPeer.spawn("as-user", "65534", "fifo-open", path.string, "read", "nonblock"))
        #expect(denied.status == .exited(EACCES))

        #expect(chmod(path.string, 0o606) == 0)
        let allowed = try TestPeer.run(TestPeer.spawn("as-user", "65534", "fifo-open", path.string, "read", "nonblock"))
        #expect(allowed.status == .exited(0))
    }
}

/// The process umask, read without changing it (from /proc/self/status).
private func currentUmask() -> mode_t {
    guard let file = fopen("/proc/self/status", "r") else { return 0o022 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("Umask:") {
            return mode_t(String(text.dropFirst(6).filter { !" \t\n".contains($0) }), radix: 8) ?? 0o022
        }
    }
    return 0o022
}
