import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The rows of one `ipc bench`, and their one report: the table on stdout and the
/// JSON (to `--json FILE`, or instead of the table with `--json -`).
///
/// The report is written exactly once, by whoever gets there first: the bench at
/// its end, or the signal that interrupts it (then with the rows finished so far,
/// the run in progress marked as interrupted). Locked, since a signal is handled
/// on a thread of its own.
final class BenchReport: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var results: [BenchResult] = []
    private var skipped: [BenchSkip] = []
    private var running: (mechanism: String, size: Int)?
    private var written = false
    private let quick: Bool
    private let placement: CPUPlacement
    private let json: BenchJSONFile?

    init(quick: Bool, placement: CPUPlacement, json: BenchJSONFile?) {
        self.quick = quick
        self.placement = placement
        self.json = json
        pthread_mutex_init(lock, nil)
    }

    func starting(_ mechanism: String, size: Int) { locked { running = (mechanism, size) } }
    func add(_ result: BenchResult) { locked { results.append(result); running = nil } }
    func add(_ skip: BenchSkip) { locked { skipped.append(skip) } }

    /// Writes the report unless it was written already; false then. With
    /// `interruption`, the run in progress is reported as interrupted by it.
    @discardableResult
    func write(interruptedBy interruption: CInt? = nil) throws(IPCError) -> Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if written { return false }
        written = true
        var rows = results
        if let interruption, let running {
            rows.append(BenchResult(mechanism: running.mechanism, size: running.size,
                                    failure: "interrupted by \(BenchSignals.name(interruption))"))
        }
        let document = BenchJSON.document(rows, skipped: skipped, quick: quick, placement: placement,
                                          interruptedBy: interruption.map(BenchSignals.name)).rendered() + "\n"
        if json?.isStandardOutput != true {
            try writeAll(Array((BenchTable.render(rows, skipped: skipped) + "\n").utf8), to: 1, named: "standard output")
        }
        if let json { try json.write(document) }
        return true
    }

    private func locked(_ body: () -> Void) {
        pthread_mutex_lock(lock)
        body()
        pthread_mutex_unlock(lock)
    }
}

/// Writes every byte of `bytes` to descriptor `fd`.
func writeAll(_ bytes: [UInt8], to fd: CInt, named name: String) throws(IPCError) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { throw IPCError(Errno(rawValue: n < 0 ? errno : EIO), operation: "write", object: name) }
        offset += n
    }
}

/// Where `--json` goes: standard output (`-`), or a file opened (created if need
/// be) before the bench starts, so a path that cannot be written is an error at
/// once, not after the whole run.
struct BenchJSONFile: Sendable {
    let descriptor: CInt
    let path: String
    var isStandardOutput: Bool { path == "-" }

    init(path: String) throws(IPCError) {
        self.path = path
        if path == "-" {
            descriptor = 1
            return
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666)
        if descriptor < 0 { throw IPCError(Errno(rawValue: errno), operation: "open", object: path) }
    }

    /// Replaces the file's content with `text`.
    func write(_ text: String) throws(IPCError) {
        if !isStandardOutput {
            if ftruncate(descriptor, 0) != 0 { throw IPCError(Errno(rawValue: errno), operation: "ftruncate", object: path) }
            _ = lseek(descriptor, 0, SEEK_SET)
        }
        try writeAll(Array(text.utf8), to: descriptor, named: path)
        if !isStandardOutput && fsync(descriptor) != 0 && errno != EINVAL {
            throw IPCError(Errno(rawValue: errno), operation: "fsync", object: path)
        }
    }
}
