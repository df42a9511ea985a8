@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What fork, exec and exit do to threads, thread-specific data and handlers,
/// between real processes (SPEC P6, P7, P9).
@Suite struct ForkHandlersTests {
    @Test func prepareRunsInReverseOrderParentAndChildInOrderAndTheChildKeepsOnlyTheForkingThread() throws {
        let run = try runToCompletion(TestPeer.spawn("fork-handlers"), timeout: .seconds(30))
        #expect(!run.timedOut)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout == """
            child P3 P2 P1 C1 C2 C3 tasks 1 tsd 7
            parent P3 P2 P1 A1 A2 A3 waiter 1

            """)
    }

    @Test func execEndsEveryThreadWithoutCleanupHandlersOrDestructors() throws {
        let run = try runToCompletion(TestPeer.spawn("threads-at-end", "exec"), timeout: .seconds(30))
        #expect(!run.timedOut)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout == "exec\n")
    }

    @Test func exitEndsEveryThreadWithoutCleanupHandlersOrDestructors() throws {
        let run = try runToCompletion(TestPeer.spawn("threads-at-end", "exit"), timeout: .seconds(30))
        #expect(!run.timedOut)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout == "")
    }
}
