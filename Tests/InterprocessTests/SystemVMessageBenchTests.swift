import Foundation
import Interprocess
import Testing

/// `ipc bench --only sysv-msg` (the `sysv-msg` transport).
@Suite("ipc bench sysv-msg")
struct SystemVMessageBenchTests {
    @Test("--quick --only sysv-msg measures 64 B and 4 KiB, skips sizes above kernel.msgmax with a note, and removes its queues")
    func quick() throws {
        let file = "/tmp/\(uniqueName("ipc-bench-msg")).json"
        defer { unlink(file) }
        let run = try IPCTool.run(["bench", "--quick", "--only", "sysv-msg", "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")

        let maximum = Int(procFileText("/proc/sys/kernel/msgmax").filter(\.isNumber)) ?? 8192
        let expectedSizes = [64, 4096, 65536].filter { $0 <= maximum }
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["size"] as? Int } == expectedSizes)
        for result in results {
            #expect(result["mechanism"] as? String == "sysv-msg")
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
            #expect((skipped.first?["reason"] as? String)?.hasPrefix("exceeds kernel.msgmax=\(maximum)") == true)
        }
        // Every queue the run made is gone: private queues the ipc process sent on
        // (lspid) or received from (lrpid).
        let leftovers = procFileText("/proc/sysvipc/msg").split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count > 6 && fields[0] == "0" && (Int32(fields[5]) == run.pid || Int32(fields[6]) == run.pid)
        }
        #expect(leftovers.isEmpty, "queues left behind: \(leftovers)")
    }
}
