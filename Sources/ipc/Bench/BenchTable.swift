/// The table `ipc bench` prints on stdout:
///
/// ```
/// mechanism  size     p50       p99       p99.9     msgs/s     MB/s
/// pipe       64 B     51.2 µs   60.1 µs   85.3 µs   512,345    32.8
/// pipe       64 KiB   -         -         -         12,345     809.0
/// ```
/// followed by a line for each remark and each skipped size:
/// `note: posix-mq 64 KiB skipped: exceeds fs.mqueue.msgsize_max=8192 …`.
/// A run that failed shows `failed` where its numbers would be (those it measured
/// before failing are kept) and a line `failed: fifo 64 B: why`.
enum BenchTable {
    static let header = ["mechanism", "size", "p50", "p99", "p99.9", "msgs/s", "MB/s"]

    static func render(_ results: [BenchResult], skipped: [BenchSkip] = []) -> String {
        var notes = results.compactMap { result in result.note.map { "note: \(result.mechanism) \(size(result.size)): \($0)" } }
        notes += skipped.map { "note: \($0.mechanism) \(size($0.size)) skipped: \($0.reason)" }
        notes += results.compactMap { result in result.failure.map { "failed: \(result.mechanism) \(size(result.size)): \($0)" } }
        return ([table(results)] + notes).joined(separator: "\n")
    }

    static func table(_ results: [BenchResult]) -> String {
        var rows = [header]
        for result in results {
            var row = [result.mechanism, size(result.size)]
            // Not measured: "-" when the size has no such measurement, "failed" when the run ended first.
            let missing = { (measured: Bool) in result.failure != nil && measured ? "failed" : "-" }
            if let latency = result.latency {
                row += [duration(latency.p50), duration(latency.p99), duration(latency.p999)]
            } else {
                row += Array(repeating: missing(BenchPlan.latencySizes.contains(result.size)), count: 3)
            }
            if let throughput = result.throughput {
                row += [grouped(UInt64(throughput.messagesPerSecond.rounded())), fixed(throughput.bytesPerSecond / 1e6, decimals: 1)]
            } else {
                row += Array(repeating: missing(BenchPlan.throughputSizes.contains(result.size)), count: 2)
            }
            rows.append(row)
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let fill = String(repeating: " ", count: widths[i] - cell.count)
                // Names left-aligned, numbers right-aligned.
                return i < 2 ? cell + fill : fill + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `64 B`, `4 KiB`, `64 KiB`.
    static func size(_ bytes: Int) -> String {
        if bytes >= 1024 && bytes % 1024 == 0 { return "\(bytes / 1024) KiB" }
        return "\(bytes) B"
    }

    /// `850 ns`, `5.25 µs`, `51.2 µs`, `1.25 ms`.
    static func duration(_ nanoseconds: UInt64) -> String {
        let value = Double(nanoseconds)
        if nanoseconds < 1_000 { return "\(nanoseconds) ns" }
        if nanoseconds < 10_000 { return fixed(value / 1e3, decimals: 2) + " µs" }
        if nanoseconds < 1_000_000 { return fixed(value / 1e3, decimals: 1) + " µs" }
        return fixed(value / 1e6, decimals: 2) + " ms"
    }

    /// `1,234,567`.
    static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }

    /// `value` rounded to `decimals` places, without Foundation's formatter.
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = UInt64((abs(value) * Double(scale)).rounded())
        let whole = scaled / scale, fraction = String(scaled % scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        if decimals == 0 { return sign + String(whole) }
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}
