import CInterprocess
@testable import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

private struct SortFailed: Error, Equatable { var part: Int }

@Suite struct PosixThreadTests {
    @Test func joinReturnsWhatTheBodyReturned() throws {
        let thread = try PosixThread<[Int], Never>.start(name: "t-value") { [3, 1, 2].sorted() }
        let sorted = thread.join()
        #expect(sorted == [1, 2, 3])
    }

    @Test func joinThrowsWhatTheBodyThrewTyped() throws {
        let thread = try PosixThread<Int, SortFailed>.start(name: "t-error") { () throws(SortFailed) -> Int in
            throw SortFailed(part: 7)
        }
        do throws(SortFailed) {
            _ = try thread.join()
            Issue.record("join returned")
        } catch {
            #expect(error == SortFailed(part: 7))
        }
    }

    @Test func theNameAndStackSizeAreTheThreadsAttributes() throws {
        let stack = 512 * 1024
        let thread = try PosixThread<ThreadAttributesSeen, Never>.start(
            name: "t-attributes-long-name", stackSize: stack
        ) { ThreadAttributesSeen.current() }
        let seen = thread.join()
        #expect(seen.name == "t-attributes-lo")  // 15 bytes
        #expect(Self.fits(seen.stackSize, requested: stack))
        #expect(!seen.detached)
    }

    /// glibc may give a thread a cached stack of an ended thread, up to 4 times the
    /// size asked for (`get_cached_stack`); the default is 8 MiB (RLIMIT_STACK).
    static func fits(_ size: Int, requested: Int) -> Bool {
        (requested...(4 * requested)).contains(size)
    }

    @Test func aStackBelowTheMinimumIsEINVAL() throws {
        let error = #expect(throws: IPCError.self) {
            _ = try PosixThread<Void, Never>.start(name: "t-small", stackSize: LibraryThread.minimumStackSize - 1) {}
        }
        #expect(error?.errno == .invalidArgument)
        #expect(error?.operation == "pthread_attr_setstacksize")
    }

    @Test func aThreadStartedDetachedIsDetachedAndRuns() throws {
        let seen = Seen<ThreadAttributesSeen>()
        let done = try ThreadSignal()
        try PosixThread<Void, any Error>.startDetached(name: "t-detached", stackSize: 256 * 1024) {
            seen.set(ThreadAttributesSeen.current())
            try done.post()
        }
        try done.wait()
        let attributes = try #require(seen.get)
        #expect(attributes.detached)
        #expect(attributes.name == "t-detached")
        #expect(Self.fits(attributes.stackSize, requested: 256 * 1024))
    }

    @Test func detachMakesAJoinableThreadDetachedAndItRunsOn() throws {
        let go = try ThreadSignal(), done = try ThreadSignal()
        let seen = Seen<(before: Bool, after: Bool)>()
        let thread = try PosixThread<Void, any Error>.start(name: "t-detach") {
            let before = ThreadAttributesSeen.current().detached
            try go.wait()
            seen.set((before, ThreadAttributesSeen.current().detached))
            try done.post()
        }
        thread.detach()
        try go.post()
        try done.wait()
        let states = try #require(seen.get)
        #expect(states.after, "pthread_getattr_np does not show the thread detached")
        _ = states.before  // joinable or already detached: detach may come first
    }

    @Test func cleanupHandlersRunInReverseOrderWhenTheBodyReturns() throws {
        let log = EventLog()
        let thread = try PosixThread<Void, any Error>.start(name: "t-cleanup") {
            for index in 1...3 { try CurrentThread.pushCleanup { log.record("cleanup \(index)") } }
            try CurrentThread.pushCleanup { log.record("popped and run") }
            try CurrentThread.popCleanup(execute: true)
            try CurrentThread.pushCleanup { log.record("popped, not run") }
            try CurrentThread.popCleanup(execute: false)
            log.record("body ends")
        }
        try thread.join()
        #expect(log.all == ["popped and run", "body ends", "cleanup 3", "cleanup 2", "cleanup 1"])
    }

    @Test func cleanupHandlersRunInReverseOrderWhenTheBodyThrows() throws {
        let log = EventLog()
        let thread = try PosixThread<Void, SortFailed>.start(name: "t-cleanup-throw") { () throws(SortFailed) in
            for index in 1...3 { try? CurrentThread.pushCleanup { log.record("cleanup \(index)") } }
            throw SortFailed(part: 1)
        }
        let thrown: SortFailed?
        do throws(SortFailed) { try thread.join(); thrown = nil } catch { thrown = error }
        #expect(thrown == SortFailed(part: 1))
        #expect(log.all == ["cleanup 3", "cleanup 2", "cleanup 1"])
    }

    @Test func cancellationStopsTheBodyAtACancellationPointAndRunsTheCleanupHandlers() throws {
        let log = EventLog()
        let started = try ThreadSignal()
        let thread = try PosixThread<Int, any Error>.start(name: "t-cancel") {
            for index in 1...3 { try CurrentThread.pushCleanup { log.record("cleanup \(index)") } }
            try started.post()
            var checks = 0
            let deadline = Deadline.after(.seconds(30))
            while !deadline.hasPassed {
                try CurrentThread.checkCancellation()
                checks += 1
                sched_yield()
            }
            log.record("never cancelled")
            return checks
        }
        try started.wait()
        #expect(log.all.isEmpty, "a handler ran before the cancellation point")
        thread.cancel()
        var cancelled = false
        do { _ = try thread.join() } catch is CancellationError { cancelled = true }
        #expect(cancelled)
        #expect(log.all == ["cleanup 3", "cleanup 2", "cleanup 1"])
    }

    @Test func cancellationIsNotSeenBeforeItIsRequested() throws {
        let thread = try PosixThread<Bool, any Error>.start(name: "t-no-cancel") {
            try CurrentThread.checkCancellation()
            return CurrentThread.isCancellationRequested
        }
        let requested = try thread.join()
        #expect(!requested)
    }

    @Test func cleanupHandlersBelongToAPosixThread() throws {
        let push = #expect(throws: IPCError.self) { try CurrentThread.pushCleanup {} }
        #expect(push?.errno == .notPermitted)
        try CurrentThread.checkCancellation()  // no owner to cancel this thread: never throws
        #expect(!CurrentThread.isCancellationRequested)
        let thread = try PosixThread<IPCError?, Never>.start(name: "t-pop-empty") {
            do throws(IPCError) { try CurrentThread.popCleanup(execute: true); return nil } catch { return error }
        }
        let popped = thread.join()
        #expect(popped?.errno == .invalidArgument)
    }

    @Test func aPosixThreadStartsWithTheLibrarysSignalMask() throws {
        let thread = try PosixThread<Bool, Never>.start(name: "t-mask") {
            var mask = sigset_t()
            pthread_sigmask(SIG_SETMASK, nil, &mask)
            return sigismember(&mask, SIGTERM) == 1 && sigismember(&mask, SIGSEGV) == 0
        }
        let masked = thread.join()
        #expect(masked)
    }
}
