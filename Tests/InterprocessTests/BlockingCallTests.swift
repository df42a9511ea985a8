import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A blocking call for the tests: a blocking read of one byte from a pipe, which
/// the interrupt ends by writing a byte — but only from its `needed`-th call on,
/// to show that interrupts are repeated until the call returns.
private final class PipeCall: Sendable {
    let readEnd: CInt
    let writeEnd: CInt
    let needed: Int
    let interrupts = Atomic<Int>(0)

    init(needed: Int = 1) throws {
        var fds: [CInt] = [0, 0]
        guard pipe(&fds) == 0 else { throw IPCError(.init(rawValue: errno), operation: "pipe") }
        readEnd = fds[0]
        writeEnd = fds[1]
        self.needed = needed
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Blocks until a byte arrives; returns the thread it ran on.
    func body() -> pthread_t {
        var byte: UInt8 = 0
        _ = read(readEnd, &byte, 1)
        return pthread_self()
    }

    func interrupt() {
        if interrupts.add(1, ordering: .relaxed).newValue >= needed {
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }
    }

    func release() { var byte: UInt8 = 1; _ = write(writeEnd, &byte, 1) }
}

@Suite("Blocking calls on a thread of our own (Core)")
struct BlockingCallTests {
    @Test("the async form returns the call's value, uninterrupted, from another thread")
    func returnsValue() async throws {
        let call = try PipeCall()
        call.release()
        let outcome = try await BlockingCall.run({ call.body() }, interrupt: { call.interrupt() })
        #expect(outcome.interruption == nil)
        #expect(call.interrupts.load(ordering: .relaxed) == 0)
        #expect(pthread_equal(outcome.value, pthread_self()) == 0)
    }

    @Test("a deadline interrupts the async form, and the interrupt repeats until the call returns")
    func asyncDeadline() async throws {
        let call = try PipeCall(needed: 3)
        let outcome = try await BlockingCall.run(until: .after(.milliseconds(50)), { call.body() },
                                                 interrupt: { call.interrupt() })
        #expect(outcome.interruption == .timedOut)
        #expect(call.interrupts.load(ordering: .relaxed) >= 3)
    }

    @Test("cancelling the task interrupts the call")
    func cancellation() async throws {
        let call = try PipeCall()
        let task = Task {
            try await BlockingCall.run({ call.body() }, interrupt: { call.interrupt() }).interruption
        }
        task.cancel()
        let outcome = await result(of: task, within: .seconds(30))
        #expect(try outcome?.get() == .cancelled)
    }

    @Test("the time-bounded form runs on the calling thread and is interrupted at the deadline")
    func blockingDeadline() throws {
        let call = try PipeCall(needed: 2)
        let start = Deadline.now
        let outcome = try BlockingCall.run(until: .after(.milliseconds(100)), { call.body() },
                                           interrupt: { call.interrupt() })
        #expect(outcome.interruption == .timedOut)
        #expect(pthread_equal(outcome.value, pthread_self()) != 0)
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 90_000_000)
        #expect(call.interrupts.load(ordering: .relaxed) >= 2)
    }

    @Test("a call that returns before its deadline is not interrupted")
    func noInterruptBeforeDeadline() throws {
        let call = try PipeCall()
        call.release()
        let outcome = try BlockingCall.run(until: .after(.seconds(30)), { call.body() }, interrupt: { call.interrupt() })
        #expect(outcome.interruption == nil)
        #expect(call.interrupts.load(ordering: .relaxed) == 0)
    }
}
