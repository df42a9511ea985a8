import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

#if arch(x86_64)
private let futexSyscall = "202"
#elseif arch(arm64)
private let futexSyscall = "98"
#endif

/// Issue 8 item 5, the other side: a signal that the process starting `ipc`
/// ignores (`nohup` ignores SIGHUP; a script's background jobs ignore SIGINT and
/// SIGQUIT) stays ignored — `ipc` neither gives SIGQUIT its default action back
/// nor lets `ipc bench` catch it.
@Suite("ipc keeps the signals it was started ignoring ignored")
struct IgnoredSignalCommandTests {
    @Test("ipc sem wait outlives an ignored SIGQUIT and takes the post")
    func semaphoreWaitIgnoresQuit() throws {
        let name = TestObjects.posixName("ign-quit")
        #expect(try IPCTool.run(["sem", "create", name]).status == .exited(0))
        defer { _ = try? IPCTool.run(["sem", "rm", name]) }
        let process = try IPCToolProcess(["sem", "wait", name], ignoring: [SIGQUIT])
        try #require(eventually {
            guard let semaphore = IPCToolProcess.mapping(of: "/dev/shm/sem.\(name.dropFirst())", in: process.pid) else { return false }
            return IPCToolProcess.isBlocked(process.pid, in: [futexSyscall]) { semaphore.contains($0) }
        }, "ipc sem wait never blocked")
        // A SIGQUIT with the default action dooms the process as it is sent, so the
        // post below cannot save it: only an ignored SIGQUIT lets it end with 0.
        try process.signal(SIGQUIT)
        #expect(try IPCTool.run(["sem", "post", name]).status == .exited(0))
        let run = try process.finish(timeout: .seconds(20))
        #expect(run.status == .exited(0), "\(String(describing: run.status)) \(run.stderr)")
    }

    @Test("ipc bench runs to its end through ignored SIGHUP, SIGINT and SIGQUIT")
    func benchIgnoresHangup() throws {
        let ignored = [SIGHUP, SIGINT, SIGQUIT]
        let process = try IPCToolProcess(["bench", "--quick", "--only", "pipe"], ignoring: ignored)
        try #require(eventually { !IPCToolProcess.children(of: process.pid).isEmpty }, "ipc bench never started its peer")
        for signal in ignored { try process.signal(signal) }
        let run = try process.finish(timeout: .seconds(120))
        #expect(run.status == .exited(0), "\(String(describing: run.status)) \(run.stderr)")
        #expect(run.stdout.contains("pipe"), "\(run.stdout)")
    }
}
