@testable import Interprocess

#if canImport(Glibc)
import Glibc
#endif

// Looking at the waiting engine's workers from /proc: which system call a worker
// is blocked in (/proc/self/task/TID/syscall: the number, then the arguments in
// hex), how often it was woken, how many threads the process has.

/// System call numbers, as /proc/.../syscall shows them.
enum SyscallNumber {
    #if arch(x86_64)
    static let futex = "202", msgsnd = "69", msgrcv = "70", semop = "65", semtimedop = "220", openat = "257"
    #elseif arch(arm64)
    static let futex = "98", msgsnd = "189", msgrcv = "188", semop = "193", semtimedop = "192", openat = "56"
    #endif
}

/// The system call `tid` of this process is in, and its first argument; nil when
/// it is running (or gone).
func blockedCall(of tid: pid_t) -> (number: Substring, first: Substring)? {
    let fields = procFileText("/proc/self/task/\(tid)/syscall").split(separator: " ")
    guard fields.count >= 2, fields[0] != "running", fields[0] != "-1" else { return nil }
    return (fields[0], fields[1])
}

/// A worker of the engine blocked in one of the system calls `numbers` (with
/// `firstArgument`, in hex as /proc shows it, when given), or nil after 60,000
/// polls 1 ms apart. Polls, not a wall-clock deadline: while the whole suite runs,
/// the cooperative pool can be busy for minutes, and the task being waited for
/// cannot start meanwhile; the limit only turns a hang into a failure.
func engineWorker(blockedIn numbers: [String], firstArgument: String? = nil, except earlier: Set<pid_t> = []) async -> pid_t? {
    for _ in 0..<60_000 {
        let found = WaitingEngine.workerThreads.first { tid in
            guard !earlier.contains(tid), let call = blockedCall(of: tid) else { return false }
            return numbers.contains(String(call.number)) && (firstArgument == nil || call.first == firstArgument!)
        }
        if let found { return found }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return nil
}

/// `address` as /proc/.../syscall prints an argument.
func hexArgument(_ address: UnsafeRawPointer) -> String { "0x" + String(UInt(bitPattern: address), radix: 16) }
func hexArgument(_ value: CInt) -> String { "0x" + String(value, radix: 16) }

/// Whether `tid` has left the system calls `numbers` (on `firstArgument`, when
/// given) or ended, within 30 s. (An idle worker waits in a futex of its own.)
func leftCall(_ tid: pid_t, _ numbers: [String], firstArgument: String? = nil) async -> Bool {
    await eventually {
        guard let call = blockedCall(of: tid) else { return true }
        return !numbers.contains(String(call.number)) || (firstArgument != nil && call.first != firstArgument!)
    }
}

/// voluntary_ctxt_switches of thread `tid`: how many times it went to sleep.
func voluntarySwitches(of tid: pid_t) -> Int? {
    let status = procFileText("/proc/self/task/\(tid)/status")
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") }) else { return nil }
    return Int(line.dropFirst("voluntary_ctxt_switches:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }))
}

/// The number of threads of this process now (/proc/self/task).
func threadCount() -> Int {
    guard let directory = opendir("/proc/self/task") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while let entry = readdir(directory) {
        if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
    }
    return count
}
