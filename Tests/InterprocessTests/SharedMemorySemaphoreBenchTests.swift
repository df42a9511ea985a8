import Foundation
import Interprocess
import Testing

/// `ipc bench --only shm-posix-sem`: the shared-memory ring with POSIX semaphores.
@Suite("ipc bench shm-posix-sem")
struct SharedMemorySemaphoreBenchTests {
    @Test("a quick run measures every size")
    func quickRun() throws {
        let file = "/tmp/\(uniqueName("ipc-bench-shm")).json"
        defer { unlink(file) }
        let run = try IPCTool.run(["bench", "--quick", "--only", "shm-posix-sem", "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").filter { $0.hasPrefix("shm-posix-sem ") }
        #expect(rows.count == 3, "\(run.stdout)")
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["mechanism"] as? String } == Array(repeating: "shm-posix-sem", count: 3))
        for result in results where (result["size"] as? Int) != 65536 {
            let rtt = try #require(result["rtt_ns"] as? [String: Any])
            #expect((rtt["p50"] as? Int ?? 0) > 0)
        }
    }

    @Test("a peer that dies while the parent waits on a semaphore is reported, not waited for")
    func deadPeer() throws {
        let run = try IPCTool.run(["bench", "--quick", "--only", "shm-posix-sem", "--peer-fault", "crash:100"], timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("bench-peer for shm-posix-sem 64 B died (killed by signal 9)"), "\(run.stderr)")
    }

    @Test("a peer that stops answering is killed by the watchdog and reported")
    func stuckPeer() throws {
        let run = try IPCTool.run(["bench", "--quick", "--only", "shm-posix-sem", "--peer-fault", "stall:100", "--watchdog-seconds", "1"],
                                  timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("bench-peer for shm-posix-sem 64 B made no progress in 1 s and was killed"), "\(run.stderr)")
    }
}
