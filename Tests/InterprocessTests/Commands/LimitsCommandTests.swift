import Foundation
import Interprocess
import Testing

/// `ipc limits` (SPEC L1), run as a process.
@Suite("ipc limits")
struct LimitsCommandTests {
    @Test("--json lists every limit the library reports, with its value")
    func json() throws {
        let run = try IPCTool.run(["limits", "--json"], timeout: .seconds(30))
        #expect(run.status == .exited(0), "\(run.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let entries = try #require(document["limits"] as? [[String: Any]])
        let library = SystemLimits.current()
        #expect(entries.map { $0["name"] as? String } == library.entries.map(\.name))
        for (entry, limit) in zip(entries, library.entries) {
            #expect(entry["source"] as? String == limit.source)
            if let number = limit.value.number {
                #expect((entry["value"] as? NSNumber)?.uint64Value == number, "\(limit.name)")
                #expect(entry["state"] as? String == "number")
            } else {
                #expect(entry["value"] is NSNull, "\(limit.name)")
                #expect(entry["state"] as? String == limit.value.description)
            }
        }
    }

    @Test("the table has a row per limit and never shows -1")
    func table() throws {
        let run = try IPCTool.run(["limits"], timeout: .seconds(30))
        #expect(run.status == .exited(0), "\(run.stderr)")
        for limit in SystemLimits.current().entries {
            #expect(run.stdout.contains("  \(limit.name) "), "\(limit.name)")
        }
        #expect(!run.stdout.contains(" -1 "))
        #expect(run.stdout.contains("System V semaphores"))
    }
}
