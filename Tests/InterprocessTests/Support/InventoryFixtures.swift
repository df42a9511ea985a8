import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Helpers for the inventory tests: running the peer and the system's own IPC
/// tools (ipcmk, ipcs, lsipc), and users to run them as.
enum InventoryFixtures {
    /// Runs the peer to completion; returns its exit status and stdout.
    static func peer(_ arguments: String...) throws -> (status: ChildStatus, output: String) {
        try TestPeer.run(Spawn(TestPeer.path, arguments: arguments))
    }

    /// Creates a System V object from a peer process and returns its id.
    static func createSystemV(_ kind: SystemVKind, key: IPCKey, count: Int = 0, mode: String = "600", asUser uid: uid_t? = nil) throws -> Int32 {
        var arguments = ["inv-sysv-create", kind.rawValue, String(key.rawValue), String(count), mode]
        if let uid { arguments = ["as-user", String(uid)] + arguments }
        let run = try TestPeer.run(Spawn(TestPeer.path, arguments: arguments))
        try #require(run.status == .exited(0), "peer could not create \(kind): \(run.output)")
        return try #require(Int32(run.output))
    }

    /// The absolute path of a system tool, or nil when it is not installed.
    static func tool(_ name: String) -> String? {
        for directory in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] where access(directory + "/" + name, X_OK) == 0 {
            return directory + "/" + name
        }
        return nil
    }

    /// Runs a system tool; returns its exit status and stdout.
    static func runTool(_ path: String, _ arguments: [String]) throws -> (status: ChildStatus, output: String) {
        try TestPeer.run(Spawn(path, arguments: arguments))
    }

    /// The `key=value` pairs `ipcs -i` prints (`uid=0  gid=0`, `nsems = 3`, `mode=0644,`).
    static func ipcsFields(_ text: String) -> [String: String] {
        let normal = text.replacingAll(" = ", with: "=").map { $0 == "," || $0 == "\t" ? " " : $0 }
        var fields: [String: String] = [:]
        for word in String(normal).split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2, fields[String(parts[0])] == nil { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// A uid no account uses, different for each call in this run (tests that
    /// filter or remove by owner must never share one): 40000 + 16 per process
    /// (by pid) + a counter.
    static func randomUser() -> uid_t {
        let n = usersHandedOut.add(1, ordering: .relaxed).oldValue
        precondition(n < 16, "more than 16 test users in one run")
        return 40000 + uid_t(getpid() % 1000) * 16 + n
    }

    private static let usersHandedOut = Atomic<UInt32>(0)

    /// Runs `ipc ARGUMENTS…` as `uid` (through the peer's exec-as-user); stdout
    /// and stderr together.
    static func ipcAs(_ uid: uid_t, _ arguments: [String]) throws -> (status: ChildStatus, output: String) {
        try TestPeer.run(Spawn(TestPeer.path, arguments: ["exec-as-user", String(uid), IPCTool.path] + arguments))
    }

    /// The line of /proc/sysvipc/KIND for `id`, or nil when it is gone.
    static func procLine(_ kind: SystemVKind, id: Int32) -> String? {
        guard let file = fopen("/proc/sysvipc/" + kind.rawValue, "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 1, fields[1] == Substring(String(id)) { return text }
        }
        return nil
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
