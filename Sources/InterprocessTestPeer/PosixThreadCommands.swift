import CInterprocess
import Interprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for PosixThread, ThreadSpecificKey and ForkHandlers (SPEC P6, P7, P9):
// what fork, exec and exit do to them.

extension PeerCommands {
    static let posixThreads: [String: PeerCommand] = [
        // fork-handlers: register three sets of fork handlers, set a thread-specific
        // value (7) on this thread, start a PosixThread that waits, then fork. The
        // child writes "child EVENTS tasks N tsd V" with write(2) and _exits; the
        // parent then prints "parent EVENTS waiter W" (W: its threads named
        // fork-waiter; a TSan build has a thread of its own, so all are not counted). EVENTS: P1..P3 for prepare,
        // A1..A3 for parent, C1..C3 for child handlers, in the order they ran.
        "fork-handlers": { _ in
            for set in 1...3 {
                ForkHandlers.register(
                    prepare: { ForkEvents.record("P", set) },
                    parent: { ForkEvents.record("A", set) },
                    child: { ForkEvents.record("C", set) })
            }
            let key = try ThreadSpecificKey<Int>()
            try key.set(7)
            let release = try UnnamedSemaphoreBox()
            let waiter = try PosixThread<Void, IPCError>.start(name: "fork-waiter") { () throws(IPCError) in
                try release.semaphore.wait(timeout: .seconds(30))
            }
            guard eventually(taskNames().contains("fork-waiter")) else { return 1 }
            waitUntilOtherThreadsSleep()
            let child = forkReporting(key, keeping: waiter)
            var status: CInt = 0
            guard child > 0, waitpid(child, &status, 0) == child else { return 2 }
            ForkEvents.write("parent", extra: " waiter \(taskNames().filter { $0 == "fork-waiter" }.count)")
            try release.semaphore.post()
            try waiter.join()
            return status == 0 ? 0 : 3
        },
        // threads-at-end exec|exit: set a thread-specific value whose destructor
        // writes "destructor", start a PosixThread that pushes a cleanup handler
        // writing "cleanup" and waits; then exec `/bin/echo exec` or call exit(0).
        // Prints only what ran: "exec" after an exec, nothing after exit.
        "threads-at-end": { args in
            let key = try ThreadSpecificKey<Int> { _ in say("destructor") }
            try key.set(1)
            let running = try UnnamedSemaphoreBox(), release = try UnnamedSemaphoreBox()
            let thread = try PosixThread<Void, any Error>.start(name: "end-waiter") {
                try key.set(2)
                try CurrentThread.pushCleanup { say("cleanup") }
                try running.semaphore.post()
                try release.semaphore.wait(timeout: .seconds(30))
            }
            try running.semaphore.wait(timeout: .seconds(30))
            if args.first == "exec" {
                let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("echo"), strdup("exec"), nil]
                execv("/bin/echo", arguments)
                return 1
            }
            _ = thread  // still running, holding its cleanup handler, at exec or exit
            exit(0)
        },
    ]

    /// Forks; the child writes what it has and _exits. `waiter` is only borrowed, so
    /// the child cannot end its lifetime (its deinit would detach, in the child, a
    /// thread that exists only in the parent).
    static func forkReporting(_ key: ThreadSpecificKey<Int>, keeping waiter: borrowing PosixThread<Void, IPCError>) -> pid_t {
        let child = fork()
        if child == 0 {
            ForkEvents.write("child", extra: " tasks \(taskCount()) tsd \(key.value.map(String.init) ?? "none")")
            _exit(0)
        }
        return child
    }

    /// The number of threads of this process (/proc/self/task).
    static func taskCount() -> Int { taskNames().count }

    /// The names of this process's threads (/proc/self/task/TID/comm).
    static func taskNames() -> [String] {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard pid_t(tid) != nil else { continue }
            var name = [UInt8](repeating: 0, count: 32)
            let fd = open("/proc/self/task/\(tid)/comm", O_RDONLY | O_CLOEXEC)
            let count = fd < 0 ? 0 : read(fd, &name, name.count)
            if fd >= 0 { close(fd) }
            names.append(String(decoding: name.prefix(max(count, 0)).filter { $0 != 0 && $0 != 10 }, as: UTF8.self))
        }
        return names
    }
}

private func eventually(_ condition: @autoclosure () -> Bool) -> Bool {
    let deadline = Deadline.after(.seconds(10))
    while !deadline.hasPassed {
        if condition() { return true }
        sched_yield()
    }
    return condition()
}

/// A semaphore threads share.
final class UnnamedSemaphoreBox: Sendable {
    let semaphore: UnnamedSemaphore
    init() throws { semaphore = try UnnamedSemaphore(value: 0) }
}

/// What the fork handlers record: fixed storage and an atomic index, so a child
/// handler neither allocates nor takes a lock.
enum ForkEvents {
    private static let capacity = 64
    nonisolated(unsafe) private static let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    private static let used = Atomic<Int>(0)

    static func record(_ kind: Character, _ set: Int) {
        let at = used.add(3, ordering: .relaxed).oldValue
        guard at + 3 <= capacity else { return }
        bytes[at] = UInt8(ascii: kind.unicodeScalars.first!)
        bytes[at + 1] = UInt8(ascii: "0") + UInt8(set)
        bytes[at + 2] = UInt8(ascii: " ")
    }

    /// Writes "LABEL EVENTS…EXTRA\n" with write(2).
    static func write(_ label: String, extra: String) {
        let count = min(used.load(ordering: .relaxed), capacity)
        let events = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        say("\(label) \(events.trimmingSuffixSpace())\(extra)")
    }
}

private extension String {
    func trimmingSuffixSpace() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
