import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Starts a program as a daemon and learns whether it started (SPEC P3).
///
/// A Swift process runs threads (the runtime's, the library's), so it never
/// `fork`s to daemonize: the daemon is a *new program*, started with `posix_spawn`
/// (`Spawn`), which applies the rules of the notes on the way:
///
/// 1. the child of `posix_spawn` is never a process group leader, so
/// 2. `POSIX_SPAWN_SETSID` makes it leader of a new session, without a controlling
///    terminal;
/// 3. it starts in `workingDirectory` (`/` by default);
/// 4. it holds 0, 1 and 2 on `/dev/null` and the report pipe, nothing else (every
///    other descriptor is closed by the spawn);
/// 5. the daemon side (`DaemonStartup.current`) sets the umask (`umask`, 0o022 by
///    default) before the program does anything else.
///
/// With `.secondSpawn` (the default) the SVR4 rule follows: the session leader
/// only starts the program again in its session and exits, so the daemon is
/// neither a session leader nor a group leader and can never acquire a
/// controlling terminal; its parent is then init (or the nearest subreaper).
/// `.sessionLeader` stops after step 2: the daemon leads its session and stays
/// the launcher's child (reaped in the background if the launcher lives on).
///
/// The launcher waits until the daemon reports through the pipe:
/// `DaemonStartup.reportReady()` makes `launch` return the daemon's pid;
/// `reportFailure(_:)` makes it throw the daemon's error; a daemon that ends
/// without reporting makes it throw `ESRCH` with its exit status when known.
///
/// ```swift
/// let pid = try Daemon("/usr/local/bin/served", arguments: ["--config", path]).launch(timeout: .seconds(10))
/// ```
public struct Daemon: Sendable {
    /// How far the daemon is detached from the launcher's session.
    public enum Detachment: Sendable, Hashable {
        /// A new session led by the daemon (`setsid`): no controlling terminal,
        /// but opening a terminal without `O_NOCTTY` would give it one.
        case sessionLeader
        /// The SVR4 second fork, as a second spawn: neither session nor group
        /// leader, never a controlling terminal. The program runs twice up to its
        /// first use of `DaemonStartup.current`, which must come first in `main`.
        case secondSpawn
    }

    /// A path, or a name to look up in `PATH`.
    public var executable: String
    public var arguments: [String]
    public var environment: Spawn.Environment = .inherit
    /// The daemon's file mode creation mask. The notes say "usually 0"; the default
    /// 0o022 keeps what the daemon creates from being writable by everyone.
    public var umask: mode_t = 0o022
    public var workingDirectory: FilePath = "/"
    public var detachment: Detachment = .secondSpawn

    public init(_ executable: String, arguments: [String] = []) {
        self.executable = executable
        self.arguments = arguments
    }

    /// Starts the daemon and blocks until it reports that it is ready (its pid) or
    /// that it failed (its error), or it ends without a report (`ESRCH`).
    ///
    /// The corresponding C calls are `pipe2`, `posix_spawn` (`POSIX_SPAWN_SETSID`,
    /// `posix_spawn_file_actions_addchdir_np`, `dup2` and `closefrom` actions) and `read`.
    public func launch() throws(IPCError) -> pid_t { try launch(until: .distantFuture) }

    /// `launch()`, waiting at most until `deadline`: `ETIMEDOUT`, and the daemon
    /// that did not report in time is killed.
    public func launch(until deadline: Deadline) throws(IPCError) -> pid_t {
        let pipe = try Pipe()
        var spawn = try prepareSpawn()
        try spawn.inherit(pipe.writer.descriptor, as: 3)
        var child = try spawn.start()
        try pipe.writer.close()
        var progress = Progress(self, firstChild: child.pid)
        var lines = LineReader()
        while true {
            let report: DaemonReport?
            do throws(IPCError) {
                report = try lines.next(from: pipe.reader, until: deadline)
            } catch {
                progress.kill(child)
                let who = "the daemon (pid \(progress.daemonPID ?? child.pid))"
                throw IPCError(error.errno, operation: "Daemon.launch", object: IPCError.describe(path: executable),
                               detail: error.isTimeout ? "\(who) did not report its start-up in time and was killed" : error.description)
            }
            guard progress.take(report) else { continue }
            // Reaps the session leader of `.secondSpawn` (it exits once the daemon
            // runs), or the daemon that ended; a running `.sessionLeader` daemon is
            // left to the background reaper.
            let status = progress.reaps ? try? child.wait(until: deadline) : nil
            return try progress.outcome(status).get()
        }
    }

    /// `launch(until:)` with a deadline `timeout` from now.
    public func launch(timeout: Duration) throws(IPCError) -> pid_t { try launch(until: .after(timeout)) }

    /// `launch()` without blocking a thread: the report is awaited on the reactor.
    /// Throws `CancellationError` when the task is cancelled, having killed the
    /// daemon that had not reported yet.
    public func launchAsync() async throws -> pid_t {
        let pipe = try Pipe()
        var spawn = try prepareSpawn()
        try spawn.inherit(pipe.writer.descriptor, as: 3)
        var child = try spawn.start()
        try pipe.writer.close()
        var progress = Progress(self, firstChild: child.pid)
        var lines = LineReader()
        while true {
            let report: DaemonReport?
            do {
                report = try await lines.nextAsync(from: pipe.reader)
            } catch {
                progress.kill(child)
                throw error
            }
            guard progress.take(report) else { continue }
            let status = progress.reaps ? try? await child.waitAsync() : nil
            return try progress.outcome(status).get()
        }
    }

    /// What the launcher has learnt so far.
    private struct Progress {
        let daemon: Daemon
        let firstChild: pid_t
        /// The daemon's pid: the child's with `.sessionLeader`, reported with `.secondSpawn`.
        var daemonPID: pid_t?
        var final: DaemonReport??

        init(_ daemon: Daemon, firstChild: pid_t) {
            self.daemon = daemon
            self.firstChild = firstChild
            daemonPID = daemon.detachment == .sessionLeader ? firstChild : nil
        }

        /// Records a report; true once it is the last one (ready, failed, or end of file).
        mutating func take(_ report: DaemonReport?) -> Bool {
            if case .started(let pid)? = report {
                daemonPID = pid
                return false
            }
            final = .some(report)
            return true
        }

        /// Whether the first child is to be waited for now.
        var reaps: Bool {
            daemon.detachment == .secondSpawn || final == .some(nil)
        }

        /// Kills what was started: the first child leads a process group (setsid)
        /// that the second spawn joins, so the group is killed — the daemon too,
        /// even before it said its pid. The first child is not reaped yet, so its
        /// pid, the group's id, cannot have been reused.
        func kill(_ child: borrowing ChildProcess) {
            _ = system_kill(-firstChild, SIGKILL)
            if let daemonPID { _ = system_kill(daemonPID, SIGKILL) }
            try? child.signal(SIGKILL)
        }

        func outcome(_ status: ChildStatus?) -> Result<pid_t, IPCError> {
            let pid = daemonPID ?? firstChild
            switch final {
            case .some(.ready?):
                return .success(pid)
            case .some(.failed(let error)?):
                return .failure(IPCError(error.errno, operation: error.operation, object: error.object,
                                         detail: (error.detail.map { $0 + ": " } ?? "") + "the daemon \(daemon.executable) (pid \(pid)) failed to start"))
            default:
                // The status is the daemon's own unless a second spawn made it.
                let secondSpawned = daemon.detachment == .secondSpawn && daemonPID != nil
                let how = secondSpawned ? "" : status.map { " (\($0))" } ?? ""
                let who = daemonPID.map { "the daemon (pid \($0))" } ?? "the daemon"
                return .failure(IPCError(.noSuchProcess, operation: "Daemon.launch", object: IPCError.describe(path: daemon.executable),
                                         detail: "\(who) ended before it reported its start-up\(how)"))
            }
        }
    }

    private func prepareSpawn() throws(IPCError) -> Spawn {
        var spawn = Spawn(executable, arguments: arguments)
        let stage = detachment == .secondSpawn ? DaemonReport.sessionStage : DaemonReport.daemonStage
        let variables: [String: String] = [
            DaemonReport.descriptorVariable: "3",
            DaemonReport.umaskVariable: String(umask, radix: 8),
            DaemonReport.stageVariable: stage,
        ]
        switch environment {
        case .inherit: spawn.environment = .inheritUpdating(variables)
        case .inheritUpdating(let changes): spawn.environment = .inheritUpdating(changes.merging(variables) { $1 })
        case .custom(let custom): spawn.environment = .custom(custom.merging(variables) { $1 })
        }
        spawn.workingDirectory = workingDirectory
        spawn.newSession = true
        let null = system_open("/dev/null", O_RDWR | O_CLOEXEC, 0)
        if null < 0 { throw IPCError.last("open", object: "\"/dev/null\"") }
        let devNull = OwnedDescriptor(adoptingRaw: null)
        for target: CInt in 0...2 { try spawn.inherit(devNull, as: target) }
        return spawn
    }
}

/// Splits the report pipe into lines.
private struct LineReader {
    private var pending: [UInt8] = []

    /// The next report; nil at end of file (or on a line that is not a report).
    mutating func next(from reader: borrowing PipeReader, until deadline: Deadline) throws(IPCError) -> DaemonReport? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            if let report = takeLine() { return report }
            let count = try buffer.withUnsafeMutableBytes { raw in
                Result { () throws(IPCError) in try reader.read(into: raw, until: deadline) }
            }.get()
            if count == 0 { return nil }
            pending += buffer[..<count]
        }
    }

    mutating func nextAsync(from reader: borrowing PipeReader) async throws -> DaemonReport? {
        while true {
            if let report = takeLine() { return report }
            let bytes = try await reader.readAsync(upTo: 1024)
            if bytes.isEmpty { return nil }
            pending += bytes
        }
    }

    /// The next complete line's report (nil for a line that is not one), or nil
    /// when no line is complete.
    private mutating func takeLine() -> DaemonReport?? {
        guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeSubrange(...newline)
        return .some(DaemonReport(line: Substring(line)))
    }
}
