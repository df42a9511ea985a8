import CIPCTool
import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What the bench parent does on SIGINT, SIGTERM, SIGHUP and SIGQUIT: stop at
/// once, leave nothing behind, report what it measured, and end by that signal.
///
/// A C handler only writes the signal's number to a pipe; a thread of the bench
/// reads it and, whatever the measuring thread is doing (maybe blocked in a
/// `msgrcv` or a FIFO open): seals the ledger (removes every object, and makes
/// nothing more), writes the report with the finished rows, and ends the process
/// by the same signal (the shell sees 128 + N). The child, spawned with
/// `PR_SET_PDEATHSIG`, dies with the parent. A signal sent to the child alone
/// fails that run only; the bench goes on with the others. A signal ignored by
/// whoever started `ipc` (`nohup ipc bench`, SIGHUP) stays ignored (`IgnoredSignal`).
enum BenchSignals {
    static let handled = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Installs the handlers and starts the thread that acts on them.
    static func install(ledger: BenchLedger, report: BenchReport) throws(IPCError) {
        // Both ends live as long as the process.
        var ends: [CInt] = [-1, -1]
        if pipe(&ends) != 0 { throw IPCError(Errno(rawValue: errno), operation: "pipe", detail: "for the bench's signals") }
        let readFD = ends[0], writeFD = ends[1]
        for end in ends { _ = cipc_fcntl_int(end, F_SETFD, FD_CLOEXEC) }
        try LibraryThread.startDetached(name: "ipc-bench-sig") {
            var number: UInt8 = 0
            while read(readFD, &number, 1) != 1 {}
            let signal = CInt(number)
            ledger.seal()
            do { try report.write(interruptedBy: signal) } catch { warn("\(error)") }
            cipc_die_by_signal(signal)
        }
        let forwarded = IgnoredSignal.notIgnored(handled)
        if cipc_forward_signals(writeFD, forwarded, CInt(forwarded.count)) != 0 {
            throw IPCError(Errno(rawValue: errno), operation: "sigaction", detail: "SIGINT, SIGTERM, SIGHUP, SIGQUIT")
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
