#if canImport(Glibc)
import Glibc
#endif

/// The signal masks /proc/PID/status shows for a process (or thread): which
/// signals it blocks (`SigBlk`), catches with a handler (`SigCgt`) and ignores
/// (`SigIgn`). Polled by tests to know a peer has taken its signals over.
struct SignalMasks {
    var blocked: UInt64 = 0, caught: UInt64 = 0, ignored: UInt64 = 0

    /// The masks of `/proc/PID/status` (or `/proc/PID/task/TID/status` with `thread`); nil when gone.
    init?(pid: pid_t, thread: pid_t? = nil) {
        let path = thread.map { "/proc/\(pid)/task/\($0)/status" } ?? "/proc/\(pid)/status"
        let text = IPCToolProcess.wholeFile(path)
        guard !text.isEmpty else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { String($0.filter { !$0.isWhitespace }) }
            guard parts.count == 2, let value = UInt64(parts[1], radix: 16) else { continue }
            switch parts[0] {
            case "SigBlk": blocked = value
            case "SigCgt": caught = value
            case "SigIgn": ignored = value
            default: break
            }
        }
    }

    static func bit(_ signal: CInt) -> UInt64 { 1 << UInt64(signal - 1) }

    func blocks(_ signal: CInt) -> Bool { blocked & Self.bit(signal) != 0 }
    func catches(_ signal: CInt) -> Bool { caught & Self.bit(signal) != 0 }

    /// Whether process `pid` catches all of `signals` and blocks them in its main thread:
    /// a `SignalStream` of them exists there.
    static func watches(_ pid: pid_t, _ signals: [CInt]) -> Bool {
        guard let masks = SignalMasks(pid: pid) else { return false }
        return signals.allSatisfy { masks.catches($0) && masks.blocks($0) }
    }
}
