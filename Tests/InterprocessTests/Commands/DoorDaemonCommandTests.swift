import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A door server run as a daemon (SPEC P3–P5 with R1): `ipc door serve … --daemon`,
/// its pid file, its syslog lines in a real rsyslogd, reload, `ipc door stop`.
@Suite("ipc door serve --daemon and ipc door stop (P3, P4, P5)")
struct DoorDaemonCommandTests {
    @Test("the daemon serves, refuses a second instance naming its pid, logs start, reload and stop to syslog, and stops")
    func daemonLifecycle() throws {
        try withLockDirectory { directory in
            let rsyslog = try Rsyslog(in: directory)
            defer { rsyslog.stop() }
            let path = directory + "/echo.door"
            let arguments = ["door", "serve", path, "--echo", "--daemon", "--pid-directory", directory,
                             "--syslog", rsyslog.socket3164.string]
            let started = try IPCTool.run(arguments)
            #expect(started.status == .exited(0), "\(started.stderr)")
            let prefix = "serving \(path) (pid "
            #expect(started.stdout.hasPrefix(prefix) && started.stdout.hasSuffix(") as a daemon\n"), "\(started.stdout)")
            let pid = pid_t(started.stdout.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
            #expect(pid > 0 && pid != started.pid, "the daemon is another process than the launcher")
            defer { if pid > 0 { kill(pid, SIGKILL) } }

            #expect(try Door.info(at: FilePath(path)).serverPid == pid)
            let info = try IPCTool.run(["door", "info", path])
            #expect(info.stdout.contains("pid: \(pid)"), "\(info.stdout)")
            let call = try IPCTool.run(["door", "call", path, "--data", "daemon"])
            #expect(call.status == .exited(0) && call.stdout == "daemon", "\(call.stderr)")
            #expect(rsyslog.line { $0.hasPrefix("daemon notice ipc-door \(pid) ") && $0.contains("serving door \(path)") } != nil,
                    "\(rsyslog.lines)")

            let second = try IPCTool.run(arguments)
            #expect(second.status == .exited(2), "EAGAIN: \(second.stderr)")
            #expect(second.stderr.contains("pid \(pid) holds the lock"), "\(second.stderr)")

            #expect(kill(pid, SIGHUP) == 0)
            #expect(rsyslog.line { $0.contains("door \(path) reloaded: ") && $0.hasSuffix(", 1 call(s) served") } != nil, "\(rsyslog.lines)")
            #expect(try Door.info(at: FilePath(path)).serverPid == pid, "still serving after the reload")

            let stop = try IPCTool.run(["door", "stop", path])
            #expect(stop.status == .exited(0) && stop.stdout == "stopped \(pid)\n", "\(stop.stderr)")
            #expect(Self.hasEnded(pid), "the daemon has ended")
            #expect(access(path, F_OK) != 0, "the door's path is gone")
            #expect(rsyslog.line { $0.contains("door \(path) stopped after 1 call(s)") } != nil, "\(rsyslog.lines)")
        }
    }

    @Test("a daemon that cannot start: the launcher exits 1 with the daemon's error; relative paths are a usage error")
    func startupFailure() throws {
        try withLockDirectory { directory in
            let path = directory + "/no/such/directory/echo.door"
            let failed = try IPCTool.run(["door", "serve", path, "--echo", "--daemon", "--pid-directory", directory, "--syslog", directory + "/nolog"])
            #expect(failed.status == .exited(1))
            #expect(failed.stderr.contains("ENOENT") && failed.stderr.contains("failed to start"), "\(failed.stderr)")
            #expect(failed.stderr.split(separator: "\n").count == 1, "one line: \(failed.stderr)")
            let relative = try IPCTool.run(["door", "serve", "echo.door", "--echo", "--daemon"])
            #expect(relative.status == .exited(64), "\(relative.stderr)")
            let stopNothing = try IPCTool.run(["door", "stop", directory + "/none.door"])
            #expect(stopNothing.status == .exited(1) && stopNothing.stderr.contains("ENOENT"), "\(stopNothing.stderr)")
        }
    }

    /// Gone, or a zombie its new parent (init, or a subreaper) has not reaped yet.
    static func hasEnded(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return errno == ESRCH }
        guard let stat = textOfFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }
}
