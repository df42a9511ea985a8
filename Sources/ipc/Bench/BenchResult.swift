/// What one mechanism measured at one message size: round-trip latency (only at
/// the latency sizes) and one-way throughput.
struct BenchResult: Sendable {
    var mechanism: String
    var size: Int
    var latency: LatencySummary?
    var throughput: ThroughputSummary?
    /// A remark on the run (e.g. a reduced queue depth).
    var note: String?
    /// Why the run did not finish; what it measured before is kept.
    var failure: String?
}

/// A size a mechanism could not be measured at, and why.
struct BenchSkip: Sendable {
    var mechanism: String
    var size: Int
    var reason: String
}
