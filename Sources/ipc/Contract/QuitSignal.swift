import CIPCTool

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-\ (SIGQUIT) is the user's request to quit, not a crash.
///
/// The Swift runtime on Linux handles SIGQUIT among its crash signals: it prints a
/// crash report, resets the handler and returns, expecting the fault to happen
/// again. A SIGQUIT sent by the terminal or `kill` does not happen again, so the
/// process carried on (a plain Swift program blocked in `pause()` does the same;
/// no thread of the library is involved). `ipc` gives SIGQUIT its default action
/// back before anything else, so it ends the process at once with the
/// conventional status (128 + 3, core dump where enabled); the runtime's crash
/// reports remain for real crashes (SIGSEGV, SIGBUS, SIGILL, SIGABRT, …).
/// A SIGQUIT ignored by whoever started `ipc` stays ignored (`IgnoredSignal`).
enum QuitSignal {
    static func restoreDefaultAction() {
        if IgnoredSignal.isIgnored(SIGQUIT) { return }
        _ = cipc_restore_default_action(SIGQUIT)
    }
}
