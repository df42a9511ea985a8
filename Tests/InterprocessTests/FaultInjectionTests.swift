@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The syscall adapters' debug hooks (Core/FaultInjection.swift): faults that reach
/// the library's own threads, scoped to one object so parallel tests are safe, and
/// the call log that shows which system calls an operation made.
@Suite("Fault injection and the call log")
struct FaultInjectionTests {
    @Test("a fault scoped to a System V queue reaches the library thread an async receive waits on: it fails with the injected errno")
    func faultReachesLibraryThread() async throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let (outcome, calls) = await FaultInjection.recordingCalls(scope: .anyThread(object: queue.id)) {
            await FaultInjection.inject(EIO, into: "msgrcv", scope: .libraryThreads(object: queue.id)) {
                await withTimeout { try await queue.receiveAsync() }
            }
        }
        let error = try #require(outcome.error as? IPCError, "got \(outcome)")
        #expect(error.errno == .ioError)
        #expect(error.operation == "msgrcv")
        let injected = calls.filter(\.injected)
        #expect(injected.count == 1, "\(calls)")
        #expect(injected.first?.syscall == "msgrcv")
        #expect(injected.first?.onLibraryThread == true, "\(calls)")
        #expect(calls.first?.onLibraryThread == false, "the first, non-blocking try is the caller's: \(calls)")
    }

    @Test("the same fault scoped to the library's threads leaves the program's own calls on the object alone")
    func libraryScopeSparesCallerThread() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try FaultInjection.inject(EIO, into: "msgsnd", count: 5, scope: .libraryThreads(object: queue.id)) { () throws(IPCError) in
            try queue.send([1, 2, 3], type: 1)
        }
        #expect(try queue.tryReceive()?.bytes == [1, 2, 3])
    }

    @Test("a non-blocking POSIX receive on an empty queue makes exactly one system call: mq_timedreceive, which times out")
    func tryReceiveCallLog() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { try? PosixMessageQueue.unlink(name) }
            let (message, calls) = try FaultInjection.recordingCalls { () throws(IPCError) in try queue.tryReceive() }
            #expect(message == nil)
            #expect(calls.map(\.syscall) == ["mq_timedreceive"], "\(calls)")
            #expect(calls.first?.object == Int(queue.descriptor.rawValue))
            #expect(calls.first?.result == -1)
            #expect(calls.first?.errno == ETIMEDOUT)
        }
    }

    @Test("a failed spawn file action stops the spawn with its own error, no child started")
    func spawnFileActionChecked() throws {
        let pipe = try Pipe()
        var spawn = Spawn("/bin/true")
        try spawn.inherit(pipe.reader.descriptor, as: 3)
        let bad = FaultInjection.inject(EBADF, into: "posix_spawn_file_actions_adddup2") { () -> IPCError? in
            do throws(IPCError) { _ = try spawn.start(); return nil } catch { return error }
        }
        #expect(bad?.errno == .badFileDescriptor)
        #expect(bad?.operation == "posix_spawn_file_actions_adddup2")

        let plain = Spawn("/bin/true")
        let (failure, calls) = FaultInjection.recordingCalls { () -> IPCError? in
            FaultInjection.inject(ENOMEM, into: "posix_spawn_file_actions_addclosefrom_np") { () -> IPCError? in
                do throws(IPCError) { _ = try plain.start(); return nil } catch { return error }
            }
        }
        let error = try #require(failure, "the spawn went ahead: \(calls)")
        #expect(error.errno == .noMemory)
        #expect(error.operation == "posix_spawn_file_actions_addclosefrom_np")
        #expect(!calls.contains { $0.syscall == "posix_spawn" }, "\(calls)")
    }

    @Test("the errno an adapter captured survives later calls that change errno")
    func errnoCapturedAtTheCall() throws {
        let failed = FaultInjection.inject(EROFS, into: "ftruncate") { system_ftruncate(-1, 0) }
        #expect(failed == -1)
        Glibc.errno = EPERM  // what a later libc call, allocation or lock might leave
        #expect(IPCError.last("ftruncate").errno == .readOnlyFileSystem)
    }
}

/// The outcome of `body`, or a timeout error after 20 s, so a lost wait fails the test.
private func withTimeout<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
    await withTaskGroup(of: Result<T, any Error>?.self) { group in
        group.addTask { do { return .success(try await body()) } catch { return .failure(error) } }
        group.addTask { try? await Task.sleep(for: .seconds(20)); return nil }
        let first = await group.next()!
        group.cancelAll()
        return first ?? .failure(IPCError(.timedOut, operation: "test"))
    }
}

extension Result {
    var error: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
