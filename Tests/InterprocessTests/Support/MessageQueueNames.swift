import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A unique queue name (`/mq-test-PID-RANDOM`) for `body`; afterwards checks that
/// the test removed its queue (and removes it if not, so one failure leaks nothing).
/// Together these make the suite leave no queue behind.
func withQueueName<R>(_ body: (String) throws -> R) throws -> R {
    let name = "/" + uniqueName("mq-test")
    defer { expectRemoved(name) }
    return try body(name)
}

func withQueueName<R>(_ body: (String) async throws -> R) async throws -> R {
    let name = "/" + uniqueName("mq-test")
    defer { expectRemoved(name) }
    return try await body(name)
}

private func expectRemoved(_ name: String) {
    do {
        try PosixMessageQueue.unlink(name)
        Issue.record("the test left queue \(name) behind")
    } catch {
        #expect(error.errno == .noSuchFileOrDirectory, "\(error)")
    }
}

/// The system call number of `mq_timedreceive` (which `mq_receive` uses too).
#if arch(x86_64)
let mqTimedReceiveSyscall = 243
#elseif arch(arm64)
let mqTimedReceiveSyscall = 183
#endif
