@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Owned descriptors and syscall adapters")
struct OwnedDescriptorTests {
    @Test("descriptors are close-on-exec and closed exactly once")
    func closeOnExecAndClose() throws {
        let pipe = try Pipe()
        #expect(try pipe.reader.descriptor.isCloseOnExec)
        let raw = pipe.writer.descriptor.rawValue
        try pipe.writer.close()
        #expect(fcntl(raw, F_GETFD) == -1)
    }

    @Test("a duplicate is close-on-exec; release hands ownership over")
    func duplicateAndRelease() throws {
        let pipe = try Pipe()
        let copy = try pipe.writer.descriptor.duplicate()
        #expect(try copy.isCloseOnExec)
        let raw = copy.release()
        #expect(fcntl(raw.rawValue, F_GETFD) >= 0)  // still open: we own it now
        #expect(close(raw.rawValue) == 0)
    }

    @Test("a descriptor that is not open is EBADF, not a crash")
    func closedDescriptor() throws {
        // A number above any RLIMIT_NOFILE, so no parallel test can have it open.
        let stale = OwnedDescriptor(adopting: FileDescriptor(rawValue: 0x3fff_fff0))
        var byte: UInt8 = 0
        let error = #expect(throws: IPCError.self) {
            _ = try withUnsafeMutableBytes(of: &byte) { try stale.read(into: $0) }
        }
        #expect(error?.errno == .badFileDescriptor)
        #expect(error?.description == "read(fd \(0x3fff_fff0)): bad file descriptor (EBADF)")
        _ = stale.release()  // nothing to close
    }

    @Test("a child adopts a socket it inherited by number: it works, and is close-on-exec from then on")
    func adoptInheritedNumber() throws {
        let pair = try UnixSocket.pair(.seqPacket)
        var spawn = TestPeer.spawn("adopt-inherited", "5", "by number")
        try spawn.inherit(pair.second.descriptor, as: 5)
        let run = try TestPeer.run(spawn)
        #expect(run.status == .exited(0))
        // Inherited without FD_CLOEXEC (it crossed exec), close-on-exec once adopted.
        #expect(run.output == "cloexec false true")
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = try buffer.withUnsafeMutableBytes { try pair.first.receive(into: $0, until: .after(.seconds(30))) }
        #expect(Array(buffer[..<n]) == Array("by number".utf8))
    }

    @Test("adopting a number that is not open is EBADF naming it: in a child not handed it, and here")
    func adoptNumberNotOpen() throws {
        // The child gets 0, 1 and 2 only: 5 is closed there whatever this process has open.
        let run = try TestPeer.run(TestPeer.spawn("adopt-inherited", "5", "nothing"))
        #expect(run.status == .exited(0))
        #expect(run.output == "EBADF")

        // A number above any RLIMIT_NOFILE, so no parallel test can have it open.
        let error = #expect(throws: IPCError.self) { _ = try OwnedDescriptor(inheritedNumber: 0x3fff_fff0) }
        #expect(error?.errno == .badFileDescriptor)
        #expect(error?.description == "fcntl(F_GETFD)(fd \(0x3fff_fff0)): bad file descriptor (EBADF): "
                + "descriptor \(0x3fff_fff0) is not open: this process was not handed it")
        let negative = #expect(throws: IPCError.self) { _ = try OwnedDescriptor(inheritedNumber: -1) }
        #expect(negative?.errno == .badFileDescriptor)
    }

    @Test("adopting an open number makes it close-on-exec and owns it")
    func adoptNumberHere() throws {
        var fds: [CInt] = [0, 0]
        #expect(pipe(&fds) == 0)  // not close-on-exec, as an inherited descriptor is
        let writer = OwnedDescriptor(adopting: FileDescriptor(rawValue: fds[1]))
        let reader = try OwnedDescriptor(inheritedNumber: fds[0])
        #expect(try reader.isCloseOnExec)
        try writer.write(all: [42])
        #expect(try reader.read(upTo: 1) == [42])
    }

    #if IPC_FAULT_INJECTION
    @Test("EINTR is retried transparently")
    func interruptedCallsAreRetried() throws {
        let pipe = try Pipe()
        try pipe.writer.write(all: [1, 2, 3])
        let bytes = try FaultInjection.inject(EINTR, into: "read", count: 3) { () throws(IPCError) in
            try pipe.reader.read(upTo: 3)
        }
        #expect(bytes == [1, 2, 3])
    }

    @Test("a failing close is reported, and the descriptor is still released")
    func closeErrorsAreReported() throws {
        let pipe = try Pipe()
        let raw = pipe.writer.descriptor.release().rawValue
        let error = #expect(throws: IPCError.self) {
            try FaultInjection.inject(EIO, into: "close") { () throws(IPCError) in
                try OwnedDescriptor(adopting: FileDescriptor(rawValue: raw)).close()
            }
        }
        #expect(error?.description == "close(fd \(raw)): input/output error (EIO)")
        // The injected failure skipped the real close: close it to keep the test clean.
        #expect(close(raw) == 0)
    }

    @Test("a spawn whose pidfd cannot be opened fails cleanly and leaves no child")
    func pidfdFailure() throws {
        let error = #expect(throws: IPCError.self) {
            try FaultInjection.inject(EMFILE, into: "pidfd_open") { () throws(IPCError) in
                _ = try TestPeer.spawn("wait-for-eof", "0").start()
            }
        }
        #expect(error?.errno == .tooManyOpenFiles)
        #expect(error?.operation == "pidfd_open")
    }
    #endif

    @Test("an async read blocked on an empty pipe returns promptly when cancelled", .timeLimit(.minutes(1)))
    func readCancellation() async throws {
        let pipe = try Pipe()
        // Held open until the end, so that its number cannot be reused by another
        // test's descriptor waiting in the reactor meanwhile.
        let reader = HeldDescriptor(try pipe.reader.descriptor.duplicate())
        let raw = reader.descriptor.rawValue
        let task = Task { _ = try await reader.descriptor.readAsync(upTo: 16) }
        // Cancel only once the read is really suspended in the reactor.
        while !Reactor.isWaiting(on: raw) { await Task.yield() }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        let elapsed = ContinuousClock.now - cancelledAt
        #expect(elapsed < .seconds(30), "cancellation took \(elapsed)")
        #expect(!Reactor.isWaiting(on: raw))
    }

    @Test("async readiness resumes when data arrives, for several waiters on one descriptor")
    func readinessResumes() async throws {
        let pipe = try Pipe()
        let one = try pipe.reader.descriptor.duplicate()
        let two = try pipe.reader.descriptor.duplicate()
        let first = Task { [one = consume one] in try await one.waitAsync(for: .readable) }
        let second = Task { [two = consume two] in try await two.waitAsync(for: .readable) }
        try await pipe.writer.writeAsync(all: [42])
        try await first.value
        try await second.value
    }

    @Test("no descriptor leaks across pipes, spawns, waits and cancelled reads")
    func noLeaks() async {
        await #expect(processExitsWith: .success) {
            // Start the reactor first: it keeps one epoll descriptor for the process's life.
            _ = try? Reactor.shared
            let before = openDescriptorNumbers()
            for _ in 0..<20 {
                let pipe = try Pipe()
                var spawn = TestPeer.spawn("copy-fd", "0", "1")
                try spawn.inherit(pipe.reader.descriptor, as: 0)
                var child = try spawn.start()
                try pipe.writer.close()
                _ = try await child.waitAsync()
                let idle = try Pipe()
                let reader = try idle.reader.descriptor.duplicate()
                let task = Task { [reader = consume reader] in
                    _ = try await reader.readAsync(upTo: 1)
                }
                task.cancel()
                _ = try? await task.value
                _ = try? Spawn("/nonexistent").start()
            }
            // A finished task releases what it captured just after its result is
            // delivered: give that a bounded moment. A real leak never settles.
            // Only pipes and sockets count: the test harness and libdispatch open
            // timerfds and eventfds of their own at moments a test cannot control.
            let settle = Deadline.after(.seconds(10))
            while !descriptorsOpened(since: before).isEmpty && !settle.hasPassed { await Task.yield() }
            exit(descriptorsOpened(since: before).isEmpty ? 0 : 1)
        }
    }
}

/// A descriptor a test keeps open while tasks borrow it.
private final class HeldDescriptor: Sendable {
    let descriptor: OwnedDescriptor
    init(_ descriptor: consuming OwnedDescriptor) { self.descriptor = descriptor }
}
