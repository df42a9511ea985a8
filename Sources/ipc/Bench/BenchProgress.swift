#if canImport(Glibc)
import Glibc
#endif

/// `[3/10] pipe 64 B latency…` on stderr, rewritten in place — only when stderr is a
/// terminal, so logs and pipelines get the table alone.
final class BenchProgress {
    private let total: Int
    private var done = 0
    private let enabled = isatty(2) == 1

    init(total: Int) { self.total = total }

    func step(_ what: String) {
        done += 1
        write("\r[\(done)/\(total)] \(what)…\u{1B}[K")
    }

    /// Clears the line.
    func finish() { write("\r\u{1B}[K") }

    private func write(_ text: String) {
        guard enabled else { return }
        var bytes = Array(text.utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
    }
}
