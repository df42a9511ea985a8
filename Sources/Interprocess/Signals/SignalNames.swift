import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// Signal numbers and their names, the realtime range, and which signals a
/// `SignalStream` can watch (SPEC P8, M4).
public enum Signals {
    /// The standard signals of Linux by number (`signal(7)`), without the `SIG`.
    private static let standardNames: [CInt: String] = [
        SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGTRAP: "TRAP", SIGABRT: "ABRT",
        SIGBUS: "BUS", SIGFPE: "FPE", SIGKILL: "KILL", SIGUSR1: "USR1", SIGSEGV: "SEGV", SIGUSR2: "USR2",
        SIGPIPE: "PIPE", SIGALRM: "ALRM", SIGTERM: "TERM", SIGSTKFLT: "STKFLT", SIGCHLD: "CHLD",
        SIGCONT: "CONT", SIGSTOP: "STOP", SIGTSTP: "TSTP", SIGTTIN: "TTIN", SIGTTOU: "TTOU", SIGURG: "URG",
        SIGXCPU: "XCPU", SIGXFSZ: "XFSZ", SIGVTALRM: "VTALRM", SIGPROF: "PROF", SIGWINCH: "WINCH",
        SIGIO: "IO", SIGPWR: "PWR", SIGSYS: "SYS",
    ]

    /// Other names for the same numbers, accepted by `number(named:)`.
    private static let aliases: [String: CInt] = ["IOT": SIGABRT, "POLL": SIGIO, "CLD": SIGCHLD]

    /// The realtime signals (`SIGRTMIN`…`SIGRTMAX`): glibc keeps the kernel's first
    /// two (32 and 33) for itself, so `SIGRTMIN` is a run-time value (34).
    public static var realtime: ClosedRange<CInt> { cipc_sigrtmin()...cipc_sigrtmax() }

    /// The name of `signal`: "SIGTERM", "SIGRTMIN+2", "SIGRTMAX", or the number as
    /// text when it is none of those.
    public static func name(of signal: CInt) -> String {
        if let name = standardNames[signal] { return "SIG" + name }
        let range = realtime
        guard range.contains(signal) else { return String(signal) }
        let fromTop = range.upperBound - signal, fromBottom = signal - range.lowerBound
        if fromTop == 0 { return "SIGRTMAX" }
        if fromBottom == 0 { return "SIGRTMIN" }
        return fromBottom <= fromTop ? "SIGRTMIN+\(fromBottom)" : "SIGRTMAX-\(fromTop)"
    }

    /// The number of a signal named `text`: a name with or without `SIG`, in any
    /// case ("TERM", "sigterm"), `RTMIN+N` / `RTMAX-N`, or a number. `EINVAL`
    /// saying why otherwise.
    public static func number(named text: String) throws(IPCError) -> CInt {
        func invalid(_ why: String) -> IPCError {
            IPCError(.invalidArgument, operation: "signal", object: "\"\(text)\"", detail: why)
        }
        if let number = CInt(text) {
            guard number >= 1 && number <= realtime.upperBound else {
                throw invalid("signal numbers are 1–\(realtime.upperBound)")
            }
            return number
        }
        var upper = text.uppercased()
        if upper.hasPrefix("SIG") { upper.removeFirst(3) }
        if let number = standardNames.first(where: { $0.value == upper })?.key ?? aliases[upper] { return number }
        for (base, sign, anchor) in [("RTMIN", 1, realtime.lowerBound), ("RTMAX", -1, realtime.upperBound)] where upper.hasPrefix(base) {
            let rest = upper.dropFirst(base.count)
            if rest.isEmpty { return anchor }
            let expected: Character = sign > 0 ? "+" : "-"
            guard rest.first == expected, let offset = CInt(rest.dropFirst()), offset >= 0,
                  realtime.contains(anchor + CInt(sign) * offset) else {
                throw invalid("\(base)\(expected)N names a realtime signal, \(name(of: realtime.lowerBound))…\(name(of: realtime.upperBound))")
            }
            return anchor + CInt(sign) * offset
        }
        throw invalid("not a signal name (TERM, SIGHUP, RTMIN+1…) or number")
    }

    /// Why `signal` cannot be watched by a `SignalStream`, or nil when it can.
    static func reasonNotWatchable(_ signal: CInt) -> (Errno, String)? {
        if signal < 1 || signal > realtime.upperBound { return (.invalidArgument, "signal numbers are 1–\(realtime.upperBound)") }
        if signal == SIGKILL || signal == SIGSTOP { return (.invalidArgument, "\(name(of: signal)) cannot be caught or blocked") }
        if [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS].contains(signal) {
            return (.invalidArgument, "\(name(of: signal)) reports a fault to the thread that caused it; it cannot be read from a stream")
        }
        if signal == LibrarySignals.interrupt {
            return (.resourceBusy, "\(name(of: signal)) is the library's own interruption signal (LibrarySignals.interrupt)")
        }
        if signal > SIGSYS && signal < realtime.lowerBound {
            return (.invalidArgument, "signal \(signal) is reserved by the C library (thread cancellation, set*id)")
        }
        return nil
    }
}
