#if canImport(Glibc)
import Glibc
#endif

/// Signals the process that started `ipc` chose to ignore, which stay ignored.
///
/// A signal ignored (`SIG_IGN`) at `exec` stays ignored in the new program; that
/// is how `nohup` keeps a command alive after a hangup (SIGHUP) and how a shell
/// keeps Ctrl-C and Ctrl-\ from reaching the background jobs of a script
/// (SIGINT, SIGQUIT). The Swift runtime keeps such a disposition too. So `ipc`
/// installs a handler, or gives a signal its default action back, only for a
/// signal that is not ignored — as C programs do
/// (`if (signal(SIGINT, SIG_IGN) != SIG_IGN) signal(SIGINT, handler)`).
///
/// The corresponding C function is `sigaction` (reading the current action).
enum IgnoredSignal {
    /// Whether `signal`'s current action is `SIG_IGN`.
    static func isIgnored(_ signal: CInt) -> Bool {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return false }
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1  // SIG_IGN
    }

    /// Those of `signals` that are not ignored.
    static func notIgnored(_ signals: [CInt]) -> [CInt] {
        signals.filter { !isIgnored($0) }
    }
}
