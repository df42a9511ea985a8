import Foundation
import Interprocess
import Testing

/// `ipc bench --only shm-posix-sem|shm-sysv-sem|shm-mutex-cond|channel-spin|channel-sleep|shm-posix-sem-async`:
/// the shared-memory rings with POSIX semaphores (blocking and async waits), with a
/// System V semaphore set, with the robust mutex and condition variables, and the
/// library's own `SharedMemoryChannel` (spinning, then sleeping; or sleeping at once).
@Suite("ipc bench shared-memory rings")
struct SharedMemoryRingBenchTests {
    static let mechanisms = ["shm-posix-sem", "shm-sysv-sem", "shm-mutex-cond", "channel-spin", "channel-sleep", "shm-posix-sem-async"]

    @Test("a quick run measures every size", arguments: mechanisms)
    func quickRun(mechanism: String) throws {
        let file = TestObjects.temporaryPath("ipc-bench-shm", suffix: ".json")
        defer { TestObjects.remove(.file(file)) }
        let run = try IPCTool.run(["bench", "--quick", "--only", mechanism, "--json", file])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").filter { $0.hasPrefix("\(mechanism) ") }
        #expect(rows.count == 3, "\(run.stdout)")
        let data = try #require(FileManager.default.contents(atPath: file))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["mechanism"] as? String } == Array(repeating: mechanism, count: 3))
        for result in results where (result["size"] as? Int) != 65536 {
            let rtt = try #require(result["rtt_ns"] as? [String: Any])
            #expect((rtt["p50"] as? Int ?? 0) > 0)
        }
    }
}
