// signal-service: SPEC P8 beside swift-service-lifecycle — a service that reloads
// on SIGHUP and shuts down gracefully on SIGTERM, where the library's
// `SignalStream` and the `ServiceGroup`'s own signal handling share SIGTERM
// without fighting: both see it.
//
//   signal-service [stream-first | group-first]
//
// stream-first (the default) makes the stream before the group installs its
// handler for SIGTERM (Dispatch's, through its signal source); group-first makes it
// inside the service, after. Either way each signal prints a line —
// "SIGHUP from pid P: reloading", "SIGTERM from pid P: shutting down" — and the
// group then shuts down gracefully: "shut down gracefully", status 0.
import Interprocess
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc  // write, exit
#endif

/// Prints `text` and a newline at once (the output is read line by line as it comes).
func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = write(1, &bytes, bytes.count)
}

/// Reloads on SIGHUP until the group shuts down gracefully; reports SIGTERM.
struct Reloader: Service {
    /// The stream, when it was made before the group; nil: make it in `run`.
    let early: SignalStream?

    func run() async throws {
        let signals = try early ?? SignalStream([SIGHUP, SIGTERM])
        say("watching")
        // Graceful shutdown cancels the loop; the stream's sequence then ends.
        try await cancelWhenGracefulShutdown {
            for await signal in signals {
                say("\(Signals.name(of: signal.signal)) from pid \(signal.senderPID): \(signal.signal == SIGHUP ? "reloading" : "shutting down")")
            }
        }
    }
}

@main
struct SignalService {
    static func main() async {
        let order = CommandLine.arguments.dropFirst().first ?? "stream-first"
        guard order == "stream-first" || order == "group-first" else {
            say("usage: signal-service [stream-first | group-first]")
            exit(64)
        }
        do {
            let early = order == "stream-first" ? try SignalStream([SIGHUP, SIGTERM]) : nil
            let group = ServiceGroup(
                services: [Reloader(early: early)], gracefulShutdownSignals: [.sigterm],
                logger: Logger(label: "signal-service"))
            try await group.run()
            say("shut down gracefully")
        } catch {
            say("signal-service: \(error)")
            exit(1)
        }
    }
}
