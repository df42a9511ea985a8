import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Waiting for children (P2)")
struct ChildProcessTests {
    @Test("a signal death is decoded, with and without a core dump")
    func signalled() throws {
        var killed = try TestPeer.spawn("kill-self", "\(SIGKILL)").start()
        #expect(try killed.wait() == .signalled(SIGKILL, coreDumped: false))

        let dir = TestObjects.temporaryPath("ipc-core")
        #expect(mkdir(dir, 0o700) == 0)
        defer {
            unlink(dir + "/core")
            rmdir(dir)
        }
        var spawn = TestPeer.spawn("dump-core")
        spawn.workingDirectory = FilePath(dir)
        var dumped = try spawn.start()
        #expect(try dumped.wait() == .signalled(SIGABRT, coreDumped: true))
    }

    @Test("stopped and continued are reported, then the exit")
    func stopAndContinue() throws {
        let gate = try Pipe()
        var spawn = TestPeer.spawn("stop-then-exit", "4", "3")
        try spawn.inherit(gate.reader.descriptor, as: 3)
        var child = try spawn.start()
        #expect(try child.nextChange() == .stopped(SIGSTOP))
        let status = child.terminationStatus
        #expect(status == nil)
        try child.signal(SIGCONT)
        // The child now waits on the gate, so the continue cannot merge into an exit.
        #expect(try child.nextChange() == .continued)
        try gate.writer.close()
        #expect(try child.wait() == .exited(4))
        #expect(try child.tryNextChange() == .exited(4))
    }

    @Test("non-blocking and time-bounded waits return nil while the child runs")
    func nonBlockingAndTimed() throws {
        let pipe = try Pipe()
        var spawn = TestPeer.spawn("wait-for-eof", "3")
        try spawn.inherit(pipe.reader.descriptor, as: 3)
        var child = try spawn.start()
        #expect(try child.tryWait() == nil)
        #expect(try timesOut { _ = try child.wait(until: .after(.milliseconds(20))) })
        try pipe.writer.close()
        #expect(try child.wait(until: .after(.seconds(30))) == .exited(0))
        #expect(try child.tryWait() == .exited(0))
    }

    @Test("async wait returns the status; cancelling it returns promptly")
    func asyncWait() async throws {
        let pipe = try Pipe()
        var spawn = TestPeer.spawn("wait-for-eof", "3")
        try spawn.inherit(pipe.reader.descriptor, as: 3)
        let child = try spawn.start()
        let pid = child.pid

        let box = ChildBox(child)
        let waiter = Task { try await box.waitForChild() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }

        // The child is still ours and still running: the cancelled task dropped its
        // handle, so the background reaper collects it once it exits.
        #expect(kill(pid, 0) == 0)
        try pipe.writer.close()

        var second = try TestPeer.spawn("exit", "5").start()
        #expect(try await second.waitAsync() == .exited(5))
    }

    @Test("wait for any child, and for any child of one process group")
    func anyChildAndGroup() throws {
        var set = ChildProcessSet()
        let gate = try Pipe()

        var leader = TestPeer.spawn("wait-for-eof", "3")
        try leader.inherit(gate.reader.descriptor, as: 3)
        leader.processGroup = .new
        let leaderPid = try set.start(leader)

        var member = TestPeer.spawn("exit", "11")
        member.processGroup = .join(leaderPid)
        let memberPid = try set.start(member)

        var outsider = TestPeer.spawn("wait-for-eof", "3")
        try outsider.inherit(gate.reader.descriptor, as: 3)
        let outsiderPid = try set.start(outsider)

        let first = try set.waitAny(inProcessGroup: leaderPid)
        #expect(first.pid == memberPid && first.status == .exited(11))
        #expect(try set.tryWaitAny(inProcessGroup: leaderPid) == nil)

        try set.signalAll(SIGTERM, inProcessGroup: leaderPid)
        let second = try set.waitAny(inProcessGroup: leaderPid)
        #expect(second.pid == leaderPid && second.status == .signalled(SIGTERM, coreDumped: false))

        let noneLeft = #expect(throws: IPCError.self) { _ = try set.waitAny(inProcessGroup: leaderPid) }
        #expect(noneLeft?.errno == .noChildProcess)

        try gate.writer.close()
        let last = try set.waitAny()
        #expect(last.pid == outsiderPid && last.status == .exited(0))
        let empty = set.isEmpty
        #expect(empty)
    }

    @Test("children started elsewhere in the process are never reaped")
    func foreignChildrenAreLeftAlone() throws {
        // A child started with posix_spawn directly, as another library would.
        var foreign = pid_t()
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(TestPeer.path), strdup("exit"), strdup("9"), nil]
        defer { argv.forEach { free($0) } }
        #expect(posix_spawn(&foreign, TestPeer.path, nil, nil, argv, environ) == 0)

        var set = ChildProcessSet()
        try set.start(TestPeer.spawn("exit", "0"))
        _ = try set.waitAny()
        let empty = set.isEmpty
        #expect(empty)

        // The foreign child is still there for its owner to reap.
        var status: Int32 = 0
        #expect(waitpid(foreign, &status, 0) == foreign)
        #expect(ChildStatus(waitStatus: status) == .exited(9))
    }

    @Test("a dropped child is reaped in the background: no zombie")
    func droppedChildIsReaped() async throws {
        let pid: pid_t
        do {
            let child = try TestPeer.spawn("exit", "0").start()
            pid = child.pid
        }
        // The reaper runs asynchronously; give it a bounded time to collect the child.
        let deadline = Deadline.after(.seconds(30))
        while access("/proc/\(pid)", F_OK) == 0 && !deadline.hasPassed {
            await Task.yield()
        }
        #expect(access("/proc/\(pid)", F_OK) != 0, "child \(pid) was left a zombie")
    }

    @Test("wait statuses decode like the W* macros")
    func waitStatusDecoding() {
        #expect(ChildStatus(waitStatus: 3 << 8) == .exited(3))
        #expect(ChildStatus(waitStatus: SIGTERM) == .signalled(SIGTERM, coreDumped: false))
        #expect(ChildStatus(waitStatus: SIGSEGV | 0x80) == .signalled(SIGSEGV, coreDumped: true))
        #expect(ChildStatus(waitStatus: (SIGTSTP << 8) | 0x7f) == .stopped(SIGTSTP))
        #expect(ChildStatus(waitStatus: 0xffff) == .continued)
        #expect(ChildStatus.exited(0).isSuccess)
        #expect(ChildStatus.signalled(9, coreDumped: true).description == "killed by signal 9 (core dumped)")
    }
}

/// Moves a child into a task (escaping closures cannot consume ~Copyable values).
private final class ChildBox: @unchecked Sendable {
    var child: ChildProcess?
    init(_ child: consuming ChildProcess) { self.child = .some(child) }
    func waitForChild() async throws -> ChildStatus { try await child!.waitAsync() }
}
