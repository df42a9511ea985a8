// signal-service: SPEC P8 beside swift-service-lifecycle — a program whose
// ServiceGroup shuts down gracefully on SIGTERM and which reloads on SIGHUP, with
// every signal read in one place: a `SignalStream`.
//
//   signal-service
//
// A signal has one reader. A ServiceGroup given `gracefulShutdownSignals` reads
// them through a Dispatch signal source (a signalfd of its own); a stream of the
// same signal would compete with it, each missing some, so the library refuses
// that (EBUSY). Here the group gets no signals: the stream reads SIGHUP and
// SIGTERM, and on SIGTERM calls `triggerGracefulShutdown()`. It prints
// "watching", then "SIGHUP from pid P: reloading" for each SIGHUP, and for
// SIGTERM "SIGTERM from pid P: shutting down", "the worker stops gracefully",
// "shut down gracefully"; status 0.
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

/// The program's work: runs until the group shuts down gracefully.
struct Worker: Service {
    func run() async throws {
        try await gracefulShutdown()
        say("the worker stops gracefully")
    }
}

@main
struct SignalService {
    static func main() async {
        do {
            let signals = try SignalStream([SIGHUP, SIGTERM])
            let group = ServiceGroup(services: [Worker()], logger: Logger(label: "signal-service"))
            say("watching")
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                for try await signal in signals {
                    if signal.signal == SIGHUP {
                        say("SIGHUP from pid \(signal.senderPID): reloading")
                    } else {
                        say("SIGTERM from pid \(signal.senderPID): shutting down")
                        await group.triggerGracefulShutdown()
                        break
                    }
                }
                try await tasks.waitForAll()
            }
            say("shut down gracefully")
        } catch {
            say("signal-service: \(error)")
            exit(1)
        }
    }
}
