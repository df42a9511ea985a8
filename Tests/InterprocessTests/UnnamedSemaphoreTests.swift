@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Shares one in-process semaphore between tasks.
private final class Shared: Sendable {
    let semaphore: UnnamedSemaphore
    init(_ value: Int) throws { semaphore = try UnnamedSemaphore(value: value) }
}

@Suite("Unnamed semaphores in this process (Y2)")
struct UnnamedSemaphoreTests {
    @Test("value, wait, tryWait, timed wait and post")
    func basics() throws {
        let semaphore = try UnnamedSemaphore(value: 1)
        #expect(try semaphore.value == 1)
        try semaphore.wait()
        #expect(try semaphore.tryWait() == false)
        #expect(try timesOut { try semaphore.wait(until: .after(.milliseconds(10))) })
        try semaphore.post()
        try semaphore.wait(timeout: .seconds(1))
        let tooBig = #expect(throws: IPCError.self) { _ = try UnnamedSemaphore(value: UnnamedSemaphore.maximumValue + 1) }
        #expect(tooBig?.errno == .invalidArgument)
    }

    @Test("a post from another thread wakes an async wait; cancellation ends one promptly")
    func asyncWaitAndCancel() async throws {
        let shared = try Shared(0)
        async let woken: Void = shared.semaphore.waitAsync()
        try await waitUntilWaiting(on: shared.semaphore.operations.semaphore)
        try shared.semaphore.post()
        try await woken

        let waiting = Task { try await shared.semaphore.waitAsync() }
        try await waitUntilWaiting(on: shared.semaphore.operations.semaphore)
        waiting.cancel()
        let outcome = await waiting.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(try shared.semaphore.value == 0)

        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await shared.semaphore.waitAsync()
        }
        let early = await cancelledFirst.result
        #expect(throws: CancellationError.self) { try early.get() }
    }

    @Test("many tasks share a semaphore without losing posts")
    func manyWaiters() async throws {
        let shared = try Shared(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { try await shared.semaphore.waitAsync() } }
            for _ in 0..<8 { try shared.semaphore.post() }
            try await group.waitForAll()
        }
        #expect(try shared.semaphore.value == 0)
    }

    #if IPC_FAULT_INJECTION
    @Test("EINTR is retried; other errors carry the operation")
    func interruptedWaits() throws {
        let semaphore = try UnnamedSemaphore(value: 1)
        try FaultInjection.inject(EINTR, into: "sem_wait", count: 2) { () throws(IPCError) in try semaphore.wait() }
        #expect(try semaphore.value == 0)
        let error = #expect(throws: IPCError.self) {
            try FaultInjection.inject(EINVAL, into: "sem_post") { () throws(IPCError) in try semaphore.post() }
        }
        #expect(error?.description == "sem_post(unnamed semaphore): invalid argument (EINVAL)")
    }
    #endif
}
