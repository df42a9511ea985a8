import Foundation
import Interprocess
import Testing

/// Issue 8 items 14, 15, 18, 20 and 5 for `ipc bench`: a failed run is reported and
/// the others still run; a signal ends the bench at once, with the finished rows
/// printed and nothing left on the host; after SIGKILL the next bench reclaims what
/// is left; arguments are checked before anything runs.
@Suite("ipc bench: failures, signals and leftovers")
struct BenchInterruptionTests {
    // MARK: item 14

    @Test("one failing mechanism is marked; the others run and are printed; exit status 1")
    func oneFailingMechanism() throws {
        let file = TestObjects.temporaryPath("ipc-bench", suffix: ".json")
        defer { TestObjects.remove(.file(file)) }
        let run = try IPCTool.run(["bench", "--quick", "--only", "pipe,fifo,socketpair", "--peer-fault", "crash:100:fifo", "--json", file],
                                  timeout: .seconds(120))
        #expect(run.status == .exited(1), "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let measured = rows.filter { ["pipe", "socketpair"].contains($0.first) }
        #expect(measured.count == 6, "\(run.stdout)")
        #expect(measured.allSatisfy { !$0.contains("failed") }, "\(run.stdout)")
        let fifo = rows.filter { $0.first == "fifo" }
        #expect(fifo.count == 3 && fifo.allSatisfy { $0.contains("failed") }, "\(run.stdout)")
        #expect(run.stdout.contains("failed: fifo 64 B: bench-peer for fifo 64 B died (killed by signal 9)"), "\(run.stdout)")
        #expect(run.stderr.contains("fifo 64 B failed: bench-peer for fifo 64 B died (killed by signal 9)"), "\(run.stderr)")

        let results = try Self.results(in: file)
        #expect(results.map { "\($0["mechanism"] as? String ?? "?") \($0["size"] as? Int ?? 0)" }
            == ["pipe", "fifo", "socketpair"].flatMap { name in [64, 4096, 65536].map { "\(name) \($0)" } })
        for result in results {
            let failed = result["mechanism"] as? String == "fifo"
            #expect((result["error"] != nil) == failed, "\(result)")
            #expect((result["throughput"] != nil) == !failed, "\(result)")
        }
    }

    // MARK: items 18 and 19

    @Test("an empty or unknown --only is a one-line usage error", arguments: ["", ",", "pipe,", " ", "pipe,,fifo", "nope"])
    func emptyOnly(list: String) throws {
        let run = try IPCTool.run(["bench", "--only", list])
        #expect(run.status == .exited(64), "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("ipc: ") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test("a --json path that cannot be written fails before the bench runs")
    func unwritableJSON() throws {
        let run = try IPCTool.run(["bench", "--quick", "--only", "pipe", "--json", "/nonexistent/x.json"])
        #expect(run.status == .exited(1))
        #expect(run.stdout.isEmpty, "nothing was measured: \(run.stdout)")
        #expect(run.stderr == "ipc: cannot write the JSON: open(/nonexistent/x.json): no such file or directory (ENOENT)\n", "\(run.stderr)")
    }

    // MARK: items 5 and 15: signals

    /// What a bench stalled in `mechanism` has made: the ledger's objects.
    struct Stalled {
        var bench: IPCToolProcess
        var child: pid_t
        var systemV: [(IPCInventory.Kind, Int32)]
        var ledger: String
    }

    /// Starts `ipc bench --only ONLY` whose children of `mechanism` stop answering
    /// after 100 messages, and waits until one has (it sleeps in pause()): the
    /// bench is then blocked in the middle of a run of `mechanism`.
    func stalledBench(_ only: String, in mechanism: String, json: String? = nil) throws -> Stalled {
        var arguments = ["bench", "--quick", "--only", only, "--peer-fault", "stall:100:\(mechanism)"]
        if let json { arguments += ["--json", json] }
        let bench = try IPCToolProcess(arguments)
        var child: pid_t = 0
        try #require(eventually(timeout: .seconds(60)) {
            guard let stalled = IPCToolProcess.children(of: bench.pid).first(where: {
                procFileText("/proc/\($0)/cmdline").contains(mechanism) && IPCToolProcess.isBlocked($0, in: [pauseSyscall])
            }) else { return false }
            child = stalled
            return true
        }, "the bench never stalled in \(mechanism)")
        let ledger = "/tmp/ipc-bench-\(bench.pid).ledger"
        let lines = IPCToolProcess.wholeFile(ledger).split(separator: "\n").map { $0.split(separator: " ") }
        let systemV: [(IPCInventory.Kind, Int32)] = lines.compactMap { fields in
            guard fields.count == 2, let kind = IPCInventory.Kind(rawValue: String(fields[0])), let id = Int32(fields[1]) else { return nil }
            return (kind, id)
        }
        return Stalled(bench: bench, child: child, systemV: systemV, ledger: ledger)
    }

    static func exists(_ object: (IPCInventory.Kind, Int32)) -> Bool {
        IPCInventory.snapshot(kinds: [object.0]).entries.contains { $0.id == object.1 }
    }

    /// Names of this bench left in /tmp and the mqueue filesystem.
    static func namesLeft(by pid: pid_t) -> [String] {
        let prefix = "ipc-bench-\(pid)"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        let queues = IPCInventory.snapshot(kinds: [.posixQueue]).entries.compactMap { $0.name?.description }
        return files.filter { $0.hasPrefix(prefix) } + queues.filter { $0.hasPrefix("/" + prefix) }
    }

    static let signalled: [(String, CInt)] = [("fifo", SIGINT), ("posix-mq", SIGTERM), ("sysv-msg", SIGQUIT), ("shm-sysv-sem", SIGHUP), ("sysv-msg", SIGINT)]

    @Test("a signal to the bench prints the finished rows, removes everything and ends the bench by it", arguments: signalled)
    func signalToParent(mechanism: String, signal: CInt) throws {
        let file = TestObjects.temporaryPath("ipc-bench", suffix: ".json")
        defer { TestObjects.remove(.file(file)) }
        let stalled = try stalledBench("pipe,\(mechanism)", in: mechanism, json: file)
        let pid = stalled.bench.pid
        if mechanism.hasPrefix("sysv") || mechanism.hasPrefix("shm-sysv") {
            #expect(!stalled.systemV.isEmpty && stalled.systemV.allSatisfy(Self.exists), "the run's System V objects: \(stalled.ledger)")
            // A segment is marked for removal as soon as the parent attached it: the kernel frees it with the last process.
            let segments = stalled.systemV.filter { $0.0 == .systemVSharedMemory }
            let entries = IPCInventory.snapshot(kinds: [.systemVSharedMemory]).entries.filter { e in segments.contains { $0.1 == e.id } }
            #expect(entries.allSatisfy { $0.isMarkedForRemoval })
        } else {
            #expect(Self.namesLeft(by: pid) == ["ipc-bench-\(pid).ledger"], "names are unlinked once both sides have them open")
        }
        try stalled.bench.signal(signal)
        let run = try stalled.bench.finish()
        #expect(run.status?.endedBy(signal) == true, "\(String(describing: run.status)) \(run.stderr)")
        #expect(!run.stderr.contains("Backtrac"), "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.filter { $0.first == "pipe" && !$0.contains("failed") }.count == 3, "the finished rows: \(run.stdout)")
        let name = ["SIGINT": SIGINT, "SIGTERM": SIGTERM, "SIGQUIT": SIGQUIT, "SIGHUP": SIGHUP].first { $0.value == signal }!.key
        #expect(run.stdout.contains("failed: \(mechanism) 64 B: interrupted by \(name)"), "\(run.stdout)")
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(document["interrupted"] as? String == name)
        #expect((document["results"] as? [[String: Any]])?.count == 4)

        #expect(stalled.systemV.allSatisfy { !Self.exists($0) }, "System V objects left")
        #expect(Self.namesLeft(by: pid).isEmpty, "\(Self.namesLeft(by: pid))")
        #expect(eventually(timeout: .seconds(10)) { kill(stalled.child, 0) != 0 || procFileText("/proc/\(stalled.child)/stat").contains(") Z ") },
                "the child ended with its parent")
    }

    @Test("after SIGKILL of the bench, the next bench removes what it left", arguments: ["sysv-msg", "shm-sysv-sem", "posix-mq", "fifo"])
    func killedParent(mechanism: String) throws {
        let stalled = try stalledBench(mechanism, in: mechanism)
        let pid = stalled.bench.pid
        try stalled.bench.signal(SIGKILL)
        let run = try stalled.bench.finish()
        #expect(run.status?.endedBy(SIGKILL) == true)
        #expect(eventually(timeout: .seconds(10)) { kill(stalled.child, 0) != 0 || procFileText("/proc/\(stalled.child)/stat").contains(") Z ") },
                "the child ended with its parent")
        // What only a later bench can remove: the ledger and the System V objects it names.
        #expect(Self.namesLeft(by: pid).allSatisfy { $0 == "ipc-bench-\(pid).ledger" }, "\(Self.namesLeft(by: pid))")
        #expect(try IPCTool.run(["bench", "--quick", "--only", "socketpair"]).status == .exited(0))
        #expect(stalled.systemV.allSatisfy { !Self.exists($0) }, "System V objects left after the next bench")
        #expect(Self.namesLeft(by: pid).isEmpty, "\(Self.namesLeft(by: pid))")
    }

    @Test("a signal to the child fails that run only; no backtrace", arguments: [SIGQUIT, SIGTERM])
    func signalToChild(signal: CInt) throws {
        let stalled = try stalledBench("sysv-msg,socketpair", in: "sysv-msg")
        kill(stalled.child, signal)
        // The bench goes on: the next size stalls as well; then end the bench.
        #expect(eventually(timeout: .seconds(60)) {
            IPCToolProcess.children(of: stalled.bench.pid).contains { $0 != stalled.child && IPCToolProcess.isBlocked($0, in: [pauseSyscall]) }
        })
        try stalled.bench.signal(SIGTERM)
        let run = try stalled.bench.finish()
        #expect(run.status?.endedBy(SIGTERM) == true)
        #expect(run.stdout.contains("failed: sysv-msg 64 B: bench-peer for sysv-msg 64 B died (killed by signal \(signal))"), "\(run.stdout)")
        #expect(run.stdout.contains("failed: sysv-msg 4 KiB: interrupted by SIGTERM"), "\(run.stdout)")
        #expect(!run.stderr.contains("Backtrac"), "\(run.stderr)")
        #expect(stalled.systemV.allSatisfy { !Self.exists($0) })
    }

    @Test("a stale ledger is honoured only if it is this user's and names only what a bench makes")
    func staleLedger() throws {
        var gone = try Spawn("/bin/true").start()
        _ = try gone.wait()
        let ledger = "/tmp/ipc-bench-\(gone.pid).ledger"
        defer { TestObjects.remove(.file(ledger)) }
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let decoy = TestObjects.temporaryPath("not-a-bench-file")
        #expect(creat(decoy, 0o600) >= 0)
        defer { TestObjects.remove(.file(decoy)) }
        #expect(creat(ledger, 0o600) >= 0)
        try #require(IPCToolProcess.writeFile(ledger, "msg \(queue.id)\npath \(decoy)\npath /tmp/ipc-bench-\(gone.pid)-x/../../\(decoy.dropFirst(5))\n"))

        // Another user's ledger is not read.
        #expect(chown(ledger, 54_321, 54_321) == 0)
        #expect(try IPCTool.run(["bench", "--quick", "--only", "socketpair"]).status == .exited(0))
        #expect(Self.exists((.systemVQueue, queue.id)), "another user's ledger removed a queue")

        // This user's: the queue goes; a file it may not name stays.
        #expect(chown(ledger, geteuid(), getegid()) == 0)
        #expect(try IPCTool.run(["bench", "--quick", "--only", "socketpair"]).status == .exited(0))
        #expect(!Self.exists((.systemVQueue, queue.id)))
        #expect(access(decoy, F_OK) == 0, "a file outside the bench's names was removed")
        #expect(access(ledger, F_OK) != 0, "the stale ledger is gone")
    }

    static func results(in file: String) throws -> [[String: Any]] {
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(document["results"] as? [[String: Any]])
    }
}

#if arch(x86_64)
private let pauseSyscall = "34"
#elseif arch(arm64)
private let pauseSyscall = "73"  // ppoll: arm64 has no pause
#endif
