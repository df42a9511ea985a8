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

    /// The path /dev/shm/NAME of a file name given as exact bytes, NUL-terminated.
    static func shmPath(_ file: [UInt8]) -> [CChar] {
        (Array("/dev/shm/".utf8) + file + [0]).map { CChar(bitPattern: $0) }
    }

    /// Creates the regular file /dev/shm/FILE (exact bytes) with `contents`,
    /// owned by `owner` when given; removed by `TestObjects.remove(.devShmFile(FILE))`.
    static func makeShmFile(_ file: [UInt8], contents: [UInt8] = [], owner: uid_t? = nil) throws {
        let fd = open(shmPath(file), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0, "create /dev/shm/\(EscapedText.render(file)): errno \(errno)")
        defer { close(fd) }
        if !contents.isEmpty { try #require(write(fd, contents, contents.count) == contents.count) }
        if let owner { try #require(fchown(fd, owner, owner) == 0) }
    }

    /// The bytes of a well-formed glibc semaphore with `value` (as `sem_open` writes it).
    static func semaphoreBytes(value: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in 0..<4 {
            bytes[i] = UInt8(truncatingIfNeeded: value >> (8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: 128 >> (8 * i))
        }
        return bytes
    }

    /// The access time (seconds) of /dev/shm/FILE, or of the queue's file in an mqueue filesystem.
    static func accessAndChangeTime(_ path: [CChar]) -> (access: Int, change: Int)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (info.st_atim.tv_sec, info.st_ctim.tv_sec)
    }

    /// Sets the access time of `path` to the Epoch (0), so a later access shows.
    static func clearAccessTime(_ path: [CChar]) -> Bool {
        var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)]  // UTIME_OMIT: keep the modification time
        return utimensat(AT_FDCWD, path, &times, 0) == 0
    }
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
