import Foundation
import Interprocess
import Testing

/// `ipc bench` (DESIGN.md "Measuring"), run as a process the way a person or CI runs it.
@Suite("ipc bench")
struct BenchCommandTests {
    @Test("--quick --only pipe --json writes ref's schema and prints the table")
    func quickPipe() throws {
        let file = TestObjects.temporaryPath("ipc-bench", suffix: ".json")
        defer { TestObjects.remove(.file(file)) }
        let run = try IPCTool.run(["bench", "--quick", "--only", "pipe", "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stderr.isEmpty, "progress goes to a terminal only")

        // The table: a header and one row per size.
        let lines = run.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "\(run.stdout)")
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true) == ["mechanism", "size", "p50", "p99", "p99.9", "msgs/s", "MB/s"])
        for (line, size) in zip(lines.dropFirst(), ["64 B", "4 KiB", "64 KiB"]) {
            #expect(line.hasPrefix("pipe "), "\(line)")
            #expect(line.contains(size), "\(line)")
        }
        #expect(lines[3].split(separator: " ", omittingEmptySubsequences: true)[3...5] == ["-", "-", "-"], "no latency at 64 KiB")

        // The JSON: ref's fields, rtt_ns at 64 and 4096 only, throughput at every size.
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["size"] as? Int } == [64, 4096, 65536])
        for result in results {
            let size = try #require(result["size"] as? Int)
            #expect(result["mechanism"] as? String == "pipe")
            #expect(result["impl"] as? String == "swift")
            let throughput = try #require(result["throughput"] as? [String: Any])
            let messages = try #require((throughput["messages_per_s"] as? NSNumber)?.doubleValue)
            let bytes = try #require((throughput["bytes_per_s"] as? NSNumber)?.doubleValue)
            #expect(messages > 0)
            #expect(abs(bytes - messages * Double(size)) <= Double(size), "bytes_per_s = messages_per_s × size")
            if size == 65536 {
                #expect(result["rtt_ns"] == nil)
                continue
            }
            let rtt = try #require(result["rtt_ns"] as? [String: Any])
            let p50 = try #require(rtt["p50"] as? Int), p99 = try #require(rtt["p99"] as? Int), p999 = try #require(rtt["p999"] as? Int)
            #expect(0 < p50 && p50 <= p99 && p99 <= p999)
            #expect((rtt["n"] as? Int ?? 0) >= 1000)
            #expect((rtt["min"] as? Int ?? .max) <= p50 && p999 <= (rtt["max"] as? Int ?? 0))
        }
    }

    @Test("an unknown mechanism is a usage error that lists the known ones")
    func unknownMechanism() throws {
        let run = try IPCTool.run(["bench", "--only", "pipe,no-such-thing"])
        #expect(run.status == .exited(64))
        #expect(run.stderr.contains("unknown mechanism 'no-such-thing'; known mechanisms: \(Self.allMechanisms.joined(separator: ", "))"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    /// The stream and socket mechanisms (the queue and shared-memory ones have suites of their own).
    static let mechanisms = ["pipe", "fifo", "socketpair", "unix-stream", "unix-seqpacket", "unix-dgram"]
    /// Every mechanism: each must notice a dead or stuck peer, including those with
    /// no end of file to notice it by (queues, semaphores).
    static let allMechanisms = mechanisms + ["posix-mq", "sysv-msg", "shm-posix-sem", "shm-sysv-sem", "shm-mutex-cond", "channel-spin", "channel-sleep", "door", "shm-posix-sem-async", "posix-mq-async"]

    @Test("every mechanism runs at every size; names are stable; nothing is left in /tmp")
    func everyMechanism() throws {
        let file = TestObjects.temporaryPath("ipc-bench", suffix: ".json")
        defer { TestObjects.remove(.file(file)) }
        let run = try IPCTool.run(["bench", "--quick", "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        let rows = results.map { "\($0["mechanism"] as? String ?? "?") \($0["size"] as? Int ?? 0)" }
        // POSIX queues skip sizes above fs.mqueue.msgsize_max (8192 by default).
        let queueLimit = Int(procFileText("/proc/sys/fs/mqueue/msgsize_max").filter(\.isNumber)) ?? 8192
        let queueRows = [64, 4096, 65536].filter { $0 <= queueLimit }.map { "posix-mq \($0)" }
        // System V queues skip sizes above kernel.msgmax (8192 by default).
        let systemVLimit = Int(procFileText("/proc/sys/kernel/msgmax").filter(\.isNumber)) ?? 8192
        let systemVRows = [64, 4096, 65536].filter { $0 <= systemVLimit }.map { "sysv-msg \($0)" }
        let sharedMemoryRows = ["shm-posix-sem", "shm-sysv-sem", "shm-mutex-cond", "channel-spin", "channel-sleep", "door"].flatMap { name in [64, 4096, 65536].map { "\(name) \($0)" } }
        let asyncRows = [64, 4096, 65536].map { "shm-posix-sem-async \($0)" }
            + [64, 4096, 65536].filter { $0 <= queueLimit }.map { "posix-mq-async \($0)" }
        #expect(rows == Self.mechanisms.flatMap { name in [64, 4096, 65536].map { "\(name) \($0)" } } + queueRows + systemVRows + sharedMemoryRows + asyncRows)
        for result in results {
            #expect(result["throughput"] != nil)
            #expect((result["rtt_ns"] != nil) == ((result["size"] as? Int ?? 0) < 65536))
        }
        #expect(Self.benchFilesInTmp(pid: run.pid).isEmpty, "FIFOs or sockets left behind")
    }

    @Test("a peer that dies mid-run is reported, not waited for", arguments: allMechanisms)
    func deadPeer(mechanism: String) throws {
        let run = try IPCTool.run(["bench", "--quick", "--only", mechanism, "--peer-fault", "crash:100"], timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("bench-peer for \(mechanism) 64 B died (killed by signal 9)"), "\(run.stderr)")
    }

    @Test("a peer that stops answering is killed by the watchdog and reported", arguments: allMechanisms)
    func stuckPeer(mechanism: String) throws {
        let run = try IPCTool.run(["bench", "--quick", "--only", mechanism, "--peer-fault", "stall:100", "--watchdog-seconds", "1"],
                                  timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("bench-peer for \(mechanism) 64 B made no progress in 1 s and was killed"), "\(run.stderr)")
    }

    /// The FIFOs and socket files `ipc bench` (process `pid`) made in /tmp.
    static func benchFilesInTmp(pid: pid_t) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return [] }
        return names.filter { $0.hasPrefix("ipc-bench-\(pid)-") }
    }
}
