import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LibrarySignalsTests {
    @Test func aProgramsOwnInterruptHandlerKeepsWorkingAndDoesNotStopTheLibrarysInterrupts() throws {
        // The peer installs its own SIGURG handler, lets the library interrupt a
        // time-bounded receive at its deadline, then sends itself SIGURG.
        let run = try runToCompletion(TestPeer.spawn("interrupt-chain"), timeout: .seconds(30))
        #expect(!run.timedOut)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout == "handled 1 library 1\n")
    }

    @Test func brokenPipeIsIgnoredOnlyWhenItHadTheDefaultAction() throws {
        _ = try Pipe()
        var current = sigaction()
        sigaction(SIGPIPE, nil, &current)
        let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
        #expect(handler != 0, "SIGPIPE still has its default action after a pipe was made")
    }
}
