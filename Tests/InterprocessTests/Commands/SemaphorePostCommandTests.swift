import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc sem post --count N` reports partial effects (issue 8, item 8).
@Suite("ipc sem post --count")
struct SemaphorePostCommandTests {
    @Test("posting past SEM_VALUE_MAX says how many posts were done, then the error")
    func partialPosts() throws {
        let name = TestObjects.semaphoreName()
        defer { TestObjects.remove(.semaphore(name)) }
        let semaphore = try PosixSemaphore.create(name, value: PosixSemaphore.maximumValue - 7)
        let run = try IPCTool.run(["sem", "post", name, "--count", "20"])
        #expect(run.status == .exited(1))
        #expect(run.stderr.contains("posted 7 of 20 times, then: sem_post(\"\(name)\")"), "\(run.stderr)")
        #expect(run.stderr.contains("(EOVERFLOW)"), "\(run.stderr)")
        #expect(try semaphore.value == PosixSemaphore.maximumValue)

        let none = try IPCTool.run(["sem", "post", name, "--count", "2"])
        #expect(none.status == .exited(1))
        #expect(!none.stderr.contains("posted"), "nothing was done, nothing to report: \(none.stderr)")
        #expect(none.stderr.contains("(EOVERFLOW)"), "\(none.stderr)")
    }
}
