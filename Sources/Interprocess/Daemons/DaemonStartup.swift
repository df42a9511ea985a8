import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The daemon side of `Daemon.launch` (SPEC P3): whether this program was started
/// as a daemon, and the report of its start-up to the launcher.
///
/// Use it first in `main`, before anything else runs:
///
/// ```swift
/// let startup = DaemonStartup.current
/// do throws(IPCError) {
///     let pidFile = try PidFile(name: "served")
///     try loadConfiguration()
///     startup.reportReady()
///     …
/// } catch {
///     startup.reportFailure(error)
///     exit(1)
/// }
/// ```
///
/// Its first use reads (and removes) the launcher's environment variables, sets
/// the umask the launcher asked for, and takes the report pipe. With
/// `Daemon.Detachment.secondSpawn`, the first use in the session leader starts
/// the program again (`/proc/self/exe`, the same arguments, in the same session)
/// and exits: the daemon is that second program.
///
/// Run without a launcher (from a shell, under systemd), `isDaemon` is false and
/// the reports do nothing, so one program serves both ways.
///
/// The corresponding C calls are `getenv`/`unsetenv`, `umask`, `fcntl(F_SETFD)` on
/// the inherited pipe, `write` and `close` (and `posix_spawn` for the second spawn).
public final class DaemonStartup: Sendable {
    /// This process's start-up.
    public static let current = DaemonStartup()

    /// True when a `Daemon` launcher started this process and waits for its report.
    public let isDaemon: Bool
    private let report: Mutex<OwnedDescriptor?>

    private init() {
        if let descriptor = DaemonStartup.attach() {
            isDaemon = true
            report = Mutex(descriptor)
        } else {
            isDaemon = false
            report = Mutex(nil)
        }
    }

    /// The report pipe a launcher handed down, after the umask is set and the
    /// first stage of `.secondSpawn` is done; nil without a launcher.
    private static func attach() -> OwnedDescriptor? {
        guard let number = take(DaemonReport.descriptorVariable).flatMap(CInt.init) else { return nil }
        let stage = take(DaemonReport.stageVariable)
        if let mask = take(DaemonReport.umaskVariable).flatMap({ mode_t($0, radix: 8) }) {
            _ = system_umask(mask)
        }
        LibrarySignals.ignoreBrokenPipe()
        if stage == DaemonReport.sessionStage { startSecondStage(number) }
        guard let descriptor = try? OwnedDescriptor(inheritedNumber: number) else { return nil }
        _ = try? descriptor.write(all: Array(DaemonReport.started(getpid()).line.utf8))
        return descriptor
    }

    /// Tells the launcher the daemon is ready: its `launch` returns this pid. The
    /// report pipe is closed; later reports do nothing. Nothing when not a daemon
    /// or when the launcher is gone.
    public func reportReady() {
        send(.ready)
    }

    /// Tells the launcher the daemon failed to start: its `launch` throws `error`.
    /// The program should then exit (non-zero).
    public func reportFailure(_ error: IPCError) {
        send(.failed(error))
    }

    /// `reportFailure(_:)` for an error that is not an `IPCError`: the launcher
    /// throws `ECANCELED` with `message`.
    public func reportFailure(_ message: String) {
        send(.failed(IPCError(.canceled, operation: "daemon start-up", detail: message)))
    }

    private func send(_ report: DaemonReport) {
        guard let descriptor = self.report.withLock({ $0.take() }) else { return }
        _ = try? descriptor.write(all: Array(report.line.utf8))
        try? descriptor.close()
    }

    /// The value of an environment variable, removed so the programs this one
    /// starts do not take themselves for daemons. (`unsetenv` is not thread-safe:
    /// the reason to come first in `main`.)
    private static func take(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        unsetenv(name)
        return text
    }

    /// The session leader of `.secondSpawn`: starts the program again as the
    /// daemon, which gets the report pipe, and exits.
    private static func startSecondStage(_ number: CInt) -> Never {
        guard let descriptor = try? OwnedDescriptor(inheritedNumber: number) else { exit(1) }
        let arguments = CommandLine.arguments
        var spawn = Spawn("/proc/self/exe", arguments: Array(arguments.dropFirst()))
        spawn.argument0 = arguments.first
        spawn.environment = .inheritUpdating([
            DaemonReport.descriptorVariable: "3",
            DaemonReport.stageVariable: DaemonReport.daemonStage,
            DaemonReport.umaskVariable: String(currentUmask(), radix: 8),
        ])
        do throws(IPCError) {
            try spawn.inherit(descriptor, as: 3)
            let child = try spawn.start()
            _ = child.pid
            exit(0)
        } catch {
            _ = try? descriptor.write(all: Array(DaemonReport.failed(error).line.utf8))
            exit(1)
        }
    }

    private static func currentUmask() -> mode_t {
        let mask = system_umask(0)
        _ = system_umask(mask)
        return mask
    }
}
