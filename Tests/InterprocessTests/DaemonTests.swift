import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Daemons, pid files, reload and stop between real processes (SPEC P3, P5): the
// daemon is the test peer, launched with `Daemon`; it has no stdout, so it writes
// what it sees into files the test polls.

private func fileText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func writeText(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

/// The probe's "key value" lines, once the daemon has written them.
private func probe(_ path: String) throws -> [String: String] {
    #expect(eventually { fileText(path) != nil })
    let text = try #require(fileText(path))
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ", maxSplits: 1)
        values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    return values
}

/// True once `pid` has exited: gone, or a zombie nobody reaped yet.
private func hasExited(_ pid: pid_t) -> Bool {
    guard let stat = fileText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}

private func daemon(_ command: String, _ arguments: String...) -> Daemon {
    Daemon(TestPeer.path, arguments: [command] + arguments)
}

@Suite("Daemons (P3, P5)", .serialized)
struct DaemonTests {
    @Test("a daemon of a second spawn: no terminal, neither session nor group leader, cwd /, its umask, only 0-2 on /dev/null")
    func secondSpawnFollowsTheRules() throws {
        try withLockDirectory { directory in
            let out = directory + "/probe"
            var launcher = daemon("daemon-probe", out)
            launcher.umask = 0o027
            let pid = try launcher.launch(timeout: .seconds(60))
            let seen = try probe(out)
            #expect(seen["daemon"] == "1")
            #expect(seen["pid"] == "\(pid)")
            #expect(seen["tty"] == "errno \(ENXIO)")
            let sid = try #require(seen["sid"].flatMap { pid_t($0) })
            #expect(sid != pid)
            #expect(seen["pgid"] == "\(sid)")
            #expect(seen["ppid"] != "\(getpid())")
            #expect(seen["cwd"] == "/")
            #expect(seen["umask"] == "27")
            #expect(seen["fds"] == "0=/dev/null,1=/dev/null,2=/dev/null")
            #expect(eventually { hasExited(pid) })
        }
    }

    @Test("a session-leader daemon: no terminal, sid = pgid = its pid, the launcher's child")
    func sessionLeaderFollowsTheRules() throws {
        try withLockDirectory { directory in
            let out = directory + "/probe"
            var launcher = daemon("daemon-probe", out)
            launcher.detachment = .sessionLeader
            launcher.workingDirectory = FilePath(directory)
            let pid = try launcher.launch(timeout: .seconds(60))
            let seen = try probe(out)
            #expect(seen["daemon"] == "1")
            #expect(seen["sid"] == "\(pid)")
            #expect(seen["pgid"] == "\(pid)")
            #expect(seen["ppid"] == "\(getpid())")
            #expect(seen["tty"] == "errno \(ENXIO)")
            #expect(seen["cwd"] == directory)
            #expect(seen["umask"] == "22")
            #expect(seen["fds"] == "0=/dev/null,1=/dev/null,2=/dev/null")
        }
    }

    @Test("the daemon side works in a program run without a launcher")
    func notRunAsADaemon() throws {
        try withLockDirectory { directory in
            let out = directory + "/probe"
            let (status, _) = try TestPeer.run(TestPeer.spawn("daemon-probe", out))
            #expect(status == .exited(0))
            let seen = try probe(out)
            #expect(seen["daemon"] == "0")
            #expect(seen["pid"] != nil)
        }
    }

    @Test("a daemon's start-up failure is thrown by the launcher with its error")
    func startupFailureIsThrown() throws {
        for detachment in [Daemon.Detachment.secondSpawn, .sessionLeader] {
            var launcher = daemon("daemon-fail", "/nonexistent-ipct/served.conf")
            launcher.detachment = detachment
            do throws(IPCError) {
                _ = try launcher.launch(timeout: .seconds(60))
                Issue.record("the launch succeeded")
            } catch {
                #expect(error.errno == .noSuchFileOrDirectory)
                #expect(error.operation == "open")
                #expect(error.object == "\"/nonexistent-ipct/served.conf\"")
                #expect(error.detail?.contains("reading the configuration") == true)
                #expect(error.detail?.contains("failed to start") == true)
            }
        }
    }

    @Test("launchAsync: the daemon's pid or its error, without blocking a thread")
    func launchAsync() async throws {
        try await withLockDirectory { directory in
            let out = directory + "/probe"
            let pid = try await daemon("daemon-probe", out).launchAsync()
            #expect(try probe(out)["pid"] == "\(pid)")
            do {
                _ = try await daemon("daemon-fail", "/nonexistent-ipct/served.conf").launchAsync()
                Issue.record("the launch succeeded")
            } catch let error as IPCError {
                #expect(error.errno == .noSuchFileOrDirectory)
                #expect(error.detail?.contains("failed to start") == true)
            }
        }
    }

    @Test("a daemon that never reports: ETIMEDOUT at the deadline, naming it, and it is killed")
    func timeoutKills() throws {
        do throws(IPCError) {
            _ = try daemon("daemon-hang").launch(timeout: .milliseconds(300))
            Issue.record("the launch succeeded")
        } catch {
            #expect(error.errno == .timedOut)
            let detail = try #require(error.detail)
            let pid = try #require(detail.split(separator: "(pid ").last?.split(separator: ")").first.flatMap { pid_t($0) })
            #expect(detail.contains("did not report its start-up in time and was killed"))
            #expect(eventually { hasExited(pid) })
        }
    }

    @Test("a daemon that ends without a report: ESRCH with its status")
    func silentDaemonIsReported() throws {
        var launcher = daemon("daemon-silent", "3")
        launcher.detachment = .sessionLeader
        do throws(IPCError) {
            _ = try launcher.launch(timeout: .seconds(60))
            Issue.record("the launch succeeded")
        } catch {
            #expect(error.errno == .noSuchProcess)
            #expect(error.detail?.contains("exited with status 3") == true)
        }
        do throws(IPCError) {
            _ = try daemon("daemon-silent", "0").launch(timeout: .seconds(60))
            Issue.record("the launch succeeded")
        } catch {
            #expect(error.errno == .noSuchProcess)
            #expect(error.detail?.contains("ended before it reported") == true)
        }
    }

    @Test("a --daemon style launcher exits non-zero with the daemon's error, zero with its pid")
    func launcherExitStatus() throws {
        func run(_ arguments: String...) throws -> (status: ChildStatus, output: String) {
            let pipe = try Pipe()
            var spawn = Spawn(TestPeer.path, arguments: ["daemon-launch"] + arguments)
            try spawn.inherit(pipe.writer.descriptor, as: 1)
            try spawn.inherit(pipe.writer.descriptor, as: 2)
            var child = try spawn.start()
            try pipe.writer.close()
            let output = try pipe.reader.readToEnd()
            return (try child.wait(), String(decoding: output, as: UTF8.self))
        }
        let failed = try run("secondSpawn", "daemon-fail", "/nonexistent-ipct/served.conf")
        #expect(failed.status == .exited(1))
        #expect(failed.output.contains("ENOENT"))
        #expect(failed.output.contains("failed to start"))
        try withLockDirectory { directory in
            let started = try run("secondSpawn", "daemon-probe", directory + "/probe")
            #expect(started.status == .exited(0))
            #expect(started.output.hasPrefix("daemon "))
            _ = try probe(directory + "/probe")
        }
    }

    @Test("a second instance is refused with the first one's pid; after SIGKILL of the first a new one starts")
    func singleInstance() throws {
        try withLockDirectory { directory in
            let pidFile = directory + "/served.pid", config = directory + "/conf", log = directory + "/log"
            writeText(config, "one")
            let first = try daemon("daemon-service", pidFile, config, log).launch(timeout: .seconds(60))
            defer { _ = kill(first, SIGKILL) }
            #expect(try PidFile.holder(at: FilePath(pidFile)) == first)
            #expect(fileText(pidFile) == "\(first)\n")
            do throws(IPCError) {
                let second = try daemon("daemon-service", pidFile, config, log).launch(timeout: .seconds(60))
                _ = kill(second, SIGKILL)
                Issue.record("a second instance started")
            } catch {
                #expect(error.errno == .resourceTemporarilyUnavailable)
                #expect(error.operation == "PidFile")
                #expect(error.detail?.contains("pid \(first) holds the lock") == true)
            }
            #expect(kill(first, SIGKILL) == 0)
            #expect(eventually { (try? PidFile.holder(at: FilePath(pidFile))) == .some(nil) })
            let third = try daemon("daemon-service", pidFile, config, log).launch(timeout: .seconds(60))
            defer { _ = kill(third, SIGKILL) }
            #expect(third != first)
            #expect(try PidFile.holder(at: FilePath(pidFile)) == third)
            #expect(fileText(pidFile) == "\(third)\n")
        }
    }

    @Test("SIGHUP reloads the configuration, SIGTERM stops the daemon gracefully")
    func reloadAndStop() throws {
        try withLockDirectory { directory in
            let pidFile = directory + "/served.pid", config = directory + "/conf", log = directory + "/log"
            writeText(config, "one")
            let pid = try daemon("daemon-service", pidFile, config, log).launch(timeout: .seconds(60))
            defer { _ = kill(pid, SIGKILL) }
            #expect(fileText(log) == "loaded one\n")
            writeText(config, "two")
            #expect(kill(pid, SIGHUP) == 0)
            #expect(eventually { fileText(log)?.contains("reloaded two by \(getpid())") == true })
            #expect(!hasExited(pid))
            #expect(kill(pid, SIGTERM) == 0)
            #expect(eventually { hasExited(pid) })
            #expect(fileText(log) == "loaded one\nreloaded two by \(getpid())\nstopping SIGTERM pidfile \(pidFile)\n")
            #expect(try PidFile.holder(at: FilePath(pidFile)) == nil)
        }
    }

    @Test("PidFile in this process: its pid in the file, the runtime directory, nil holder for itself")
    func pidFileHere() throws {
        try withLockDirectory { directory in
            let pidFile = try PidFile(name: "here", directory: FilePath(directory))
            #expect(pidFile.path == FilePath(directory + "/here.pid"))
            #expect(try PidFile.holder(at: pidFile.path) == nil)
            #expect(try PidFile.holder(at: FilePath(directory + "/none.pid")) == nil)
            // Asking about its own pid file must not drop this process's lock.
            let (status, output) = try TestPeer.run(TestPeer.spawn("reclock-query", "posix", directory + "/here.pid", "exclusive"))
            #expect(status == .exited(0))
            #expect(output == "conflict pid \(getpid())")
            // Last: this plain open and close of the file drops the lock (the POSIX close trap).
            #expect(fileText(directory + "/here.pid") == "\(getpid())\n")
        }
        if geteuid() == 0 { #expect(try PidFile.runtimeDirectory() == "/run") }
    }
}
