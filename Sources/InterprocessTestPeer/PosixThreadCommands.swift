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
        // parent then prints "parent EVENTS tasks N". EVENTS: P1..P3 for prepare,
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
            guard eventually(taskCount() == 2) else { return 1 }
            waitUntilOtherThreadsSleep()
            let child = fork()
            if child == 0 {
                ForkEvents.write("child", extra: " tasks \(taskCount()) tsd \(key.value.map(String.init) ?? "none")")
                _exit(0)
            }
            var status: CInt = 0
            guard child > 0, waitpid(child, &status, 0) == child else { return 2 }
            ForkEvents.write("parent", extra: " tasks \(taskCount())")
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

    /// The number of threads of this process (/proc/self/task).
    static func taskCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
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
