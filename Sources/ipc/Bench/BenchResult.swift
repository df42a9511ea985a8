/// What one mechanism measured at one message size: round-trip latency (only at
/// the latency sizes) and one-way throughput.
struct BenchResult: Sendable {
    var mechanism: String
    var size: Int
    var latency: LatencySummary?
    var throughput: ThroughputSummary?
}
