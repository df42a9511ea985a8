@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ipc signal (P8, M4)")
struct SignalCommandTests {
    let rt = Signals.realtime.lowerBound

    /// Starts `ipc signal watch ARGUMENTS…` and waits until it has taken `signals` over.
    func watcher(_ arguments: [String], watching signals: [CInt]) throws -> IPCToolProcess {
        let watcher = try IPCToolProcess(["signal", "watch"] + arguments)
        #expect(eventually { SignalMasks.watches(watcher.pid, signals) }, "ipc signal watch never took \(signals) over")
        return watcher
    }

    @Test("realtime signals queue and arrive lower numbers first, each with its payload, sender pid and uid")
    func realtimeOrder() throws {
        let watcher = try watcher(["RTMIN+1", "RTMIN+2", "RTMIN+3", "USR1", "--count", "7"], watching: [rt + 1, rt + 2, rt + 3, SIGUSR1])
        // Stopped, it reads nothing: everything sent waits in the kernel's queue.
        try watcher.signal(SIGSTOP)
        #expect(eventually { IPCToolProcess.wholeFile("/proc/\(watcher.pid)/stat").contains(") T ") })
        for (signal, value) in [(rt + 3, 1), (rt + 1, 2), (rt + 3, 3), (rt + 1, 4), (rt + 2, 5), (rt + 1, 6)] {
            try Signals.send(signal, to: watcher.pid, value: Int32(value))
        }
        try Signals.send(SIGUSR1, to: watcher.pid)
        try watcher.signal(SIGCONT)
        let run = try watcher.finish()
        #expect(run.status == .exited(0), "\(run.stderr)")
        let me = getpid(), uid = getuid()
        #expect(run.stdout == """
            SIGUSR1 10 from pid \(me) uid \(uid) (SI_USER)
            SIGRTMIN+1 \(rt + 1) from pid \(me) uid \(uid) value 2 (SI_QUEUE)
            SIGRTMIN+1 \(rt + 1) from pid \(me) uid \(uid) value 4 (SI_QUEUE)
            SIGRTMIN+1 \(rt + 1) from pid \(me) uid \(uid) value 6 (SI_QUEUE)
            SIGRTMIN+2 \(rt + 2) from pid \(me) uid \(uid) value 5 (SI_QUEUE)
            SIGRTMIN+3 \(rt + 3) from pid \(me) uid \(uid) value 1 (SI_QUEUE)
            SIGRTMIN+3 \(rt + 3) from pid \(me) uid \(uid) value 3 (SI_QUEUE)

            """)
    }

    @Test("ipc signal send --value reaches ipc signal watch --json: one object per line")
    func sendToWatch() throws {
        let watcher = try watcher(["rtmin+4", "term", "--json", "--count", "2"], watching: [rt + 4, SIGTERM])
        let sent = try IPCTool.run(["signal", "send", String(watcher.pid), "SIGRTMIN+4", "--value", "-7"])
        #expect(sent.status == .exited(0), "\(sent.stderr)")
        // SIGTERM is watched: it is printed, and does not end the watcher.
        let terminated = try IPCTool.run(["signal", "send", String(watcher.pid), "15"])
        #expect(terminated.status == .exited(0), "\(terminated.stderr)")
        let run = try watcher.finish()
        #expect(run.status == .exited(0), "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "{\"signal\":\(rt + 4),\"name\":\"SIGRTMIN+4\",\"pid\":\(sent.pid),\"uid\":\(getuid()),\"value\":-7,\"code\":\"SI_QUEUE\"}",
            "{\"signal\":15,\"name\":\"SIGTERM\",\"pid\":\(terminated.pid),\"uid\":\(getuid()),\"value\":null,\"code\":\"SI_USER\"}",
        ])
    }

    @Test("--timeout with no signal exits with status 2 saying so")
    func timeout() throws {
        let run = try IPCTool.run(["signal", "watch", "USR2", "--timeout", "0.05"])
        #expect(run.status == .exited(2))
        #expect(run.stderr == "ipc: no signal came within 0.05 s\n")
    }

    @Test("usage errors exit 64 and do nothing", arguments: [
        ["signal", "watch"], ["signal", "watch", "NOPE"], ["signal", "watch", "RTMIN+99"], ["signal", "watch", "0"],
        ["signal", "send", "abc", "TERM"], ["signal", "send", "1", "TERM", "--value", "1.5"],
        ["signal", "send", "1", "TERM", "--value", "4294967296"], ["signal", "send", "1"],
    ])
    func usage(arguments: [String]) throws {
        let run = try IPCTool.run(arguments)
        #expect(run.status == .exited(64), "\(arguments): \(run.stderr)")
        #expect(run.stderr.hasPrefix("ipc: "), "\(run.stderr)")
    }

    @Test("signals no stream can watch are refused with the reason", arguments: [
        ("KILL", "cannot be caught or blocked"), ("SEGV", "reports a fault"), ("URG", "interruption signal"),
        ("32", "reserved by the C library"),
    ])
    func refused(signal: String, reason: String) throws {
        let run = try IPCTool.run(["signal", "watch", signal])
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains(reason) && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test("send: a process that is gone is ESRCH; one not ours to signal is EPERM; one line, exit 1")
    func sendErrors() throws {
        var gone = try Spawn("/bin/true", arguments: []).start()
        _ = try gone.wait()
        let missing = try IPCTool.run(["signal", "send", String(gone.pid), "TERM", "--value", "1"])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("(ESRCH)"), "\(missing.stderr)")
        let setpriv = try #require(InventoryFixtures.tool("setpriv"), "util-linux setpriv is needed to drop privileges")
        let denied = try runToCompletion(
            Spawn(setpriv, arguments: ["--reuid", "65534", "--regid", "65534", "--clear-groups", IPCTool.path, "signal", "send", "1", "TERM"]),
            timeout: .seconds(60))
        #expect(denied.status == .exited(1))
        #expect(denied.stderr == "ipc: kill(pid 1): operation not permitted (EPERM): sending SIGTERM\n", "\(denied.stderr)")
    }
}
