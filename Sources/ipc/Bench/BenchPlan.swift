/// How long and how often `ipc bench` measures: the numbers of refbench's `ref`
/// (full) and `ref --quick`.
struct BenchPlan: Sendable {
    /// Round trips before timing starts.
    var warmupRoundTrips = 10_000
    /// Most timed round trips.
    var roundTrips = 100_000
    /// Timing stops after this many nanoseconds (but never before 1000 round trips).
    var latencyCapNanoseconds: UInt64
    /// Length of one throughput stream.
    var throughputNanoseconds: UInt64
    /// Throughput streams measured; the median is reported.
    var throughputRepetitions: Int
    /// A first, unmeasured stream.
    var throughputWarmupNanoseconds: UInt64 = 50_000_000
    /// DATA messages sent between two looks at the clock.
    var batch = 32

    static let latencySizes = [64, 4096]
    static let throughputSizes = [64, 4096, 65536]
    static var sizes: [Int] { Array(Set(latencySizes + throughputSizes)).sorted() }

    static let full = BenchPlan(latencyCapNanoseconds: 1_000_000_000, throughputNanoseconds: 250_000_000, throughputRepetitions: 3)
    static let quick = BenchPlan(latencyCapNanoseconds: 300_000_000, throughputNanoseconds: 100_000_000, throughputRepetitions: 1)
}
