import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Signal streams beside swift-service-lifecycle and Dispatch (P8, Examples/signal-service)")
struct SignalServiceExampleTests {
    /// The example, built beside the tests.
    static let path = String(TestPeer.path.dropLast("InterprocessTestPeer".count)) + "signal-service"

    @Test("the stream reads SIGHUP and SIGTERM; SIGTERM shuts the ServiceGroup down gracefully")
    func gracefulShutdown() throws {
        let service = try PeerSession(Spawn(Self.path, arguments: []))
        #expect(try service.line() == "watching")
        for _ in 0..<2 {
            try Signals.send(SIGHUP, to: service.pid)
            #expect(try service.line() == "SIGHUP from pid \(getpid()): reloading")
        }
        try Signals.send(SIGTERM, to: service.pid)
        #expect(try service.line() == "SIGTERM from pid \(getpid()): shutting down")
        #expect(try service.line() == "the worker stops gracefully")
        #expect(try service.line() == "shut down gracefully")
        #expect(try service.finish() == .exited(0))
    }

    @Test("a stream and a Dispatch signal source of one signal are refused (EBUSY), whichever came first",
          arguments: ["before", "after"])
    func dispatchConflict(order: String) throws {
        let run = try TestPeer.run(TestPeer.spawn("signal-dispatch-conflict", order))
        #expect(run.status == .exited(0))
        #expect(run.output.hasPrefix("busy: signalfd(SIGUSR2): device or resource busy (EBUSY): Dispatch has a signal source"), "\(run.output)")
    }
}
