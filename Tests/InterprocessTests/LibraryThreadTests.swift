import CInterprocess
@testable import Interprocess
import SystemPackage
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fields of /proc/self/task/TID/status and comm a test checks.
private struct ThreadStatus: Sendable {
    var name: String
    var blocked: UInt64

    /// The calling thread's.
    static func current() -> ThreadStatus {
        let tid = cipc_gettid()
        let comm = (try? InventoryText.read("/proc/self/task/\(tid)/comm")) ?? ""
        let status = (try? InventoryText.read("/proc/self/task/\(tid)/status")) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") } ?? "SigBlk: 0"
        let hex = line.split(separator: "\t").last.map { String($0) } ?? "0"
        return ThreadStatus(name: comm.trimmingCharacters(in: .newlines), blocked: UInt64(hex, radix: 16) ?? 0)
    }

    func isBlocked(_ signal: CInt) -> Bool { blocked & (1 << UInt64(signal - 1)) != 0 }
}

private final class Slot<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

@Suite struct LibraryThreadTests {
    @Test func aThreadIsNamedAndStartsWithEverySignalBlockedButTheFaultSignals() throws {
        // The creator lets everything through: the thread must not inherit that.
        var empty = sigset_t(), saved = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        let creatorBefore = ThreadStatus.current().blocked

        let seen = Slot<ThreadStatus>()
        let thread = try LibraryThread.start(name: "ipc-test-thread-name-too-long") {
            seen.value.withLock { $0 = ThreadStatus.current() }
        }
        LibraryThread.join(thread)
        let status = try #require(seen.value.withLock { $0 })

        #expect(status.name == "ipc-test-thread")  // 15 bytes
        for signal in [SIGURG, SIGUSR1, SIGUSR2, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGALRM, __libc_current_sigrtmin(), 64] {
            #expect(status.isBlocked(signal), "signal \(signal) is not blocked")
        }
        for signal in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS] {
            #expect(!status.isBlocked(signal), "fault signal \(signal) is blocked")
        }
        #expect(ThreadStatus.current().blocked == creatorBefore, "the creator's mask was not restored")
    }

    @Test func namesAreCutAtACharacterBoundary() {
        #expect(LibraryThread.threadName("ipc-é-é-é-é-é-é") == "ipc-é-é-é-é")  // 15 bytes; one more "-" would be 16
        #expect(LibraryThread.threadName("short") == "short")
    }

    @Test func theReactorThreadIsALibraryThread() throws {
        // Started here, not by a task: the cooperative pool may be busy for a while.
        _ = try Reactor.shared
        #expect(eventually { threadStatuses().contains { $0.name == "ipc-reactor" } })
        let reactor = try #require(threadStatuses().first { $0.name == "ipc-reactor" })
        #expect(reactor.isBlocked(SIGURG) && reactor.isBlocked(SIGUSR1) && reactor.isBlocked(SIGINT))
        #expect(!reactor.isBlocked(SIGBUS))
    }

    @Test(.disabledUnderThreadSanitizer("TSan does not support starting threads in the child of a multithreaded fork (die_after_fork)"))
    func theReactorWorksInAForkedChild() throws {
        let run = try runToCompletion(TestPeer.spawn("reactor-fork"), timeout: .seconds(30))
        #expect(!run.timedOut)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout == "child 0\n", "the child's async read through the reactor failed (3: no reactor thread)")
    }

    @Test func aSignalReadThroughASignalfdIsNeverTakenByALibraryThread() throws {
        let run = try runToCompletion(TestPeer.spawn("signalfd-async", "200"), timeout: .seconds(60))
        #expect(!run.timedOut)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout == "received 200 stray 0\n")
    }
}

/// Every thread of this process.
private func threadStatuses() -> [ThreadStatus] {
    guard let dir = opendir("/proc/self/task") else { return [] }
    defer { closedir(dir) }
    var result: [ThreadStatus] = []
    while let entry = readdir(dir) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard tid.first?.isNumber == true,
              let comm = try? InventoryText.read("/proc/self/task/\(tid)/comm"),
              let status = try? InventoryText.read("/proc/self/task/\(tid)/status") else { continue }
        let line = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") } ?? "SigBlk: 0"
        let hex = line.split(separator: "\t").last.map { String($0) } ?? "0"
        result.append(ThreadStatus(name: comm.trimmingCharacters(in: .newlines), blocked: UInt64(hex, radix: 16) ?? 0))
    }
    return result
}
