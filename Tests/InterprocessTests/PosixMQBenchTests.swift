import Foundation
import Interprocess
import Testing

/// `ipc bench --only posix-mq` (the `posix-mq` transport).
@Suite("ipc bench posix-mq")
struct PosixMQBenchTests {
    @Test("--quick --only posix-mq measures 64 B and 4 KiB, skips sizes above fs.mqueue.msgsize_max with a note")
    func quick() throws {
        let file = "/tmp/\(uniqueName("ipc-bench-mq")).json"
        defer { unlink(file) }
        let run = try IPCTool.run(["bench", "--quick", "--only", "posix-mq", "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")

        let maximum = (try? String(contentsOfFile: "/proc/sys/fs/mqueue/msgsize_max", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 8192
        let expectedSizes = [64, 4096, 65536].filter { $0 <= maximum }
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["size"] as? Int } == expectedSizes)
        for result in results {
            #expect(result["mechanism"] as? String == "posix-mq")
            let throughput = try #require(result["throughput"] as? [String: Any])
            #expect(((throughput["messages_per_s"] as? NSNumber)?.doubleValue ?? 0) > 0)
            if (result["size"] as? Int) != 65536 {
                let rtt = try #require(result["rtt_ns"] as? [String: Any])
                #expect((rtt["p50"] as? Int ?? 0) > 0)
            }
        }
        if maximum < 65536 {
            let skipped = try #require(document["skipped"] as? [[String: Any]])
            #expect(skipped.count == 1)
            #expect(skipped.first?["size"] as? Int == 65536)
            #expect((skipped.first?["reason"] as? String)?.hasPrefix("exceeds fs.mqueue.msgsize_max=\(maximum)") == true)
        }
        // The table run: the note is printed under the table.
        let table = try IPCTool.run(["bench", "--quick", "--only", "posix-mq"])
        #expect(table.status == .exited(0), "\(table.stderr)")
        if maximum < 65536 {
            #expect(table.stdout.contains("note: posix-mq 64 KiB skipped: exceeds fs.mqueue.msgsize_max=\(maximum)"), "\(table.stdout)")
        }
    }
}
