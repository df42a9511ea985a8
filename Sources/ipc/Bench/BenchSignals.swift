import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What the bench parent does on SIGINT, SIGTERM, SIGHUP and SIGQUIT: stop at
/// once, leave nothing behind, report what it measured, and end by that signal.
///
/// They are read from a `SignalStream` made on the thread that starts the bench
/// (blocked there, and in every thread the library and the runtime start), by a
/// thread of the bench that, whatever the measuring thread is doing (maybe blocked
/// in a `msgrcv` or a FIFO open): seals the ledger (removes every object, and makes
/// nothing more), writes the report with the finished rows, and ends the process
/// by the same signal (the shell sees 128 + N). No handler runs on the measuring
/// thread. The child, spawned with `PR_SET_PDEATHSIG`, dies with the parent. A
/// signal sent to the child alone fails that run only; the bench goes on with the
/// others. A signal ignored by whoever started `ipc` (`nohup ipc bench`, SIGHUP)
/// stays ignored (`IgnoredSignal`): it is not watched.
enum BenchSignals {
    static let handled = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Watches the signals and starts the thread that acts on them.
    static func install(ledger: BenchLedger, report: BenchReport) throws(IPCError) {
        let watched = IgnoredSignal.notIgnored(handled)
        guard !watched.isEmpty else { return }
        let signals = try SignalStream(watched)
        try LibraryThread.startDetached(name: "ipc-bench-sig") {
            guard let received = try? signals.receive() else { return }
            ledger.seal()
            do { try report.write(interruptedBy: received.signal) } catch { warn("\(error)") }
            cipc_die_by_signal(received.signal)
        }
    }

    /// `SIGINT`, `SIGTERM`, … or `signal N`.
    static func name(_ signal: CInt) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        default: "signal \(signal)"
        }
    }
}
