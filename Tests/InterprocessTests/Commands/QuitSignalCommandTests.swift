import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

#if arch(x86_64)
private let futexSyscall = "202"
private let msgrcvSyscall = "70"
#elseif arch(arm64)
private let futexSyscall = "98"
private let msgrcvSyscall = "188"
#endif

/// Issue 8 item 5: a signal that should end `ipc` ends it, promptly, by that
/// signal — SIGQUIT (Ctrl-\) included, which the Swift runtime would otherwise
/// turn into a crash report after which the process carried on.
@Suite("ipc ends by SIGQUIT, SIGTERM and SIGINT while blocked")
struct QuitSignalCommandTests {
    static let signals: [CInt] = [SIGQUIT, SIGTERM, SIGINT]

    /// Starts `ipc ARGUMENTS`, waits until `blocked` says it waits in the kernel,
    /// sends `signal`, and checks it ends by it, at once and without a backtrace.
    func expectEndsBySignal(_ arguments: [String], _ signal: CInt, blocked: (pid_t) -> Bool) throws {
        let process = try IPCToolProcess(arguments)
        try #require(eventually(timeout: .seconds(30)) { blocked(process.pid) }, "ipc \(arguments) never blocked")
        try process.signal(signal)
        // The timeout only turns the old behaviour (alive until SIGKILL) into a failure.
        let run = try process.finish(timeout: .seconds(20))
        #expect(run.status?.endedBy(signal) == true, "ipc \(arguments): \(String(describing: run.status)) \(run.stderr)")
        #expect(!run.stderr.contains("Backtrac") && !run.stderr.contains("crashed"), "\(run.stderr)")
    }

    @Test("ipc sem wait", arguments: signals)
    func semaphoreWait(signal: CInt) throws {
        let name = TestObjects.posixName("quit-sem")
        #expect(try IPCTool.run(["sem", "create", name]).status == .exited(0))
        defer { _ = try? IPCTool.run(["sem", "rm", name]) }
        try expectEndsBySignal(["sem", "wait", name], signal) { pid in
            guard let semaphore = IPCToolProcess.mapping(of: "/dev/shm/sem.\(name.dropFirst())", in: pid) else { return false }
            return IPCToolProcess.isBlocked(pid, in: [futexSyscall]) { semaphore.contains($0) }
        }
    }

    @Test("ipc mq recv", arguments: signals)
    func queueReceive(signal: CInt) throws {
        let name = TestObjects.posixName("quit-mq")
        #expect(try IPCTool.run(["mq", "create", name]).status == .exited(0))
        defer { TestObjects.remove(.queue(name)) }
        try expectEndsBySignal(["mq", "recv", name], signal) { IPCToolProcess.isBlocked($0, in: ["\(mqTimedReceiveSyscall)"]) }
    }

    @Test("ipc msg recv", arguments: signals)
    func systemVQueueReceive(signal: CInt) throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        try expectEndsBySignal(["msg", "recv", "--id", "\(queue.id)"], signal) { IPCToolProcess.isBlocked($0, in: [msgrcvSyscall]) }
    }

    @Test("ipc semset op", arguments: signals)
    func semaphoreSetOperation(signal: CInt) throws {
        let set = try SystemVSemaphoreSet.create(key: .private, count: 1)
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        try expectEndsBySignal(["semset", "op", "--id", "\(set.id)", "0:-1"], signal) { IPCToolProcess.isBlocked($0, in: semopSyscalls) }
    }
}

extension ChildStatus {
    /// Whether `signal` ended the process (with or without a core file).
    func endedBy(_ signal: CInt) -> Bool {
        if case .signalled(let number, _) = self { return number == signal }
        return false
    }
}
