import Foundation
import Interprocess
import Testing

/// `ipc bench --only posix-mq|sysv-msg`: the two message queue transports, which
/// skip sizes above their kernel's message size limit with a note.
@Suite("ipc bench message queues")
struct MessageQueueBenchTests {
    /// A mechanism and the kernel parameter that limits its message size.
    struct Queue: Sendable, CustomTestStringConvertible {
        var mechanism: String
        var limitName: String
        var limitFile: String
        var testDescription: String { mechanism }
    }

    static let queues = [
        Queue(mechanism: "posix-mq", limitName: "fs.mqueue.msgsize_max", limitFile: "/proc/sys/fs/mqueue/msgsize_max"),
        Queue(mechanism: "sysv-msg", limitName: "kernel.msgmax", limitFile: "/proc/sys/kernel/msgmax"),
        Queue(mechanism: "posix-mq-async", limitName: "fs.mqueue.msgsize_max", limitFile: "/proc/sys/fs/mqueue/msgsize_max"),
    ]

    @Test("--quick measures 64 B and 4 KiB, skips sizes above the kernel's message size limit with a note", arguments: queues)
    func quick(queue: Queue) throws {
        let file = TestObjects.temporaryPath("ipc-bench-queue", suffix: ".json")
        defer { TestObjects.remove(.file(file)) }
        let run = try IPCTool.run(["bench", "--quick", "--only", queue.mechanism, "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")

        let maximum = Int(procFileText(queue.limitFile).filter(\.isNumber)) ?? 8192
        let expectedSizes = [64, 4096, 65536].filter { $0 <= maximum }
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["size"] as? Int } == expectedSizes)
        for result in results {
            #expect(result["mechanism"] as? String == queue.mechanism)
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
            #expect((skipped.first?["reason"] as? String)?.hasPrefix("exceeds \(queue.limitName)=\(maximum)") == true)
        }
        if queue.mechanism == "sysv-msg" {
            // Every queue the run made is gone: private queues the ipc process sent
            // on (lspid) or received from (lrpid).
            let leftovers = procFileText("/proc/sysvipc/msg").split(separator: "\n").dropFirst().filter { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return fields.count > 6 && fields[0] == "0" && (Int32(fields[5]) == run.pid || Int32(fields[6]) == run.pid)
            }
            #expect(leftovers.isEmpty, "queues left behind: \(leftovers)")
        }
        // The table run: the note is printed under the table.
        let table = try IPCTool.run(["bench", "--quick", "--only", queue.mechanism])
        #expect(table.status == .exited(0), "\(table.stderr)")
        if maximum < 65536 {
            #expect(table.stdout.contains("note: \(queue.mechanism) 64 KiB skipped: exceeds \(queue.limitName)=\(maximum)"), "\(table.stdout)")
        }
    }
}
