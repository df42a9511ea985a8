import Histogram

/// Round-trip latency of one run, in nanoseconds.
struct LatencySummary: Sendable {
    var p50: UInt64
    var p99: UInt64
    var p999: UInt64
    var min: UInt64
    var max: UInt64
    var mean: Double
    /// Timed round trips.
    var count: Int
    var warmup: Int
}

/// One-way throughput of one run: the median of the repetitions.
struct ThroughputSummary: Sendable {
    var messagesPerSecond: Double
    var bytesPerSecond: Double
    /// Every repetition's rate, in order.
    var repetitions: [Double]
    var seconds: Double
}

/// The parent's side of the protocol (refbench's `harness_main`), generic over the
/// endpoint so each mechanism's send/receive is called directly in the loops.
enum Initiator {
    /// The largest round trip the histogram tells apart; longer ones count as this.
    static let highestTrackable: UInt64 = 60_000_000_000

    /// Ping-pong: warm-up round trips, then timed ones until the count or the time
    /// cap is reached. One clock read per round trip; every echo's tag and sequence
    /// number is checked.
    static func latency<E: BenchTransport & ~Copyable>(
        _ endpoint: borrowing E, plan: BenchPlan, out: borrowing MessageBuffer, in echo: borrowing MessageBuffer
    ) throws(BenchError) -> LatencySummary {
        let outgoing = UnsafeRawBufferPointer(out.bytes)
        let incoming = echo.bytes
        out.tag = BenchTag.ping.rawValue
        var sequence: UInt64 = 0
        for _ in 0..<plan.warmupRoundTrips {
            sequence &+= 1
            out.sequence = sequence
            try endpoint.send(outgoing)
            try endpoint.receive(into: incoming)
            try check(echo, sequence)
        }

        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable, numberOfSignificantValueDigits: .three)
        var t0 = monotonicNanoseconds()
        let start = t0
        var count = 0
        while count < plan.roundTrips {
            if count >= 1000 && t0 &- start > plan.latencyCapNanoseconds { break }
            sequence &+= 1
            out.sequence = sequence
            try endpoint.send(outgoing)
            try endpoint.receive(into: incoming)
            let t1 = monotonicNanoseconds()
            histogram.record(Swift.min(t1 &- t0, highestTrackable))
            t0 = t1
            try check(echo, sequence)
            count += 1
        }
        return LatencySummary(
            p50: histogram.valueAtPercentile(50), p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9),
            min: histogram.min, max: histogram.max, mean: histogram.mean, count: count, warmup: plan.warmupRoundTrips)
    }

    /// Throws unless `echo` is the PING of `sequence` (also used by `AsyncLoops`).
    @inline(__always)
    static func check(_ echo: borrowing MessageBuffer, _ sequence: UInt64) throws(BenchError) {
        let received = echo.sequence
        if echo.tag != BenchTag.ping.rawValue || received != sequence {
            throw .echoMismatch(tag: echo.tag, expected: sequence, received: received)
        }
    }

    /// Streams DATA messages in batches for the plan's time, then a SYNC the
    /// responder acknowledges: rate = messages / time from the first send to the ack.
    /// A warm-up stream first, then the repetitions; the median is reported.
    static func throughput<E: BenchTransport & ~Copyable>(
        _ endpoint: borrowing E, plan: BenchPlan, out: borrowing MessageBuffer, in ack: borrowing MessageBuffer
    ) throws(BenchError) -> ThroughputSummary {
        let outgoing = UnsafeRawBufferPointer(out.bytes)
        var rates: [Double] = []
        rates.reserveCapacity(plan.throughputRepetitions)
        for repetition in -1..<plan.throughputRepetitions {
            let limit = repetition < 0 ? plan.throughputWarmupNanoseconds : plan.throughputNanoseconds
            out.tag = BenchTag.data.rawValue
            var messages = 0
            let t0 = monotonicNanoseconds()
            repeat {
                for _ in 0..<plan.batch { try endpoint.send(outgoing) }
                messages += plan.batch
            } while monotonicNanoseconds() &- t0 < limit
            out.tag = BenchTag.sync.rawValue
            try endpoint.send(outgoing)
            try endpoint.receive(into: ack.bytes)
            let t1 = monotonicNanoseconds()
            if ack.tag != BenchTag.sync.rawValue { throw .unknownTag(ack.tag) }
            if repetition >= 0 { rates.append(Double(messages) / (Double(t1 &- t0) / 1e9)) }
        }
        let sorted = rates.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return ThroughputSummary(messagesPerSecond: median, bytesPerSecond: median * Double(out.bytes.count),
                                 repetitions: rates, seconds: Double(plan.throughputNanoseconds) / 1e9)
    }

    /// Sends QUIT and waits for its echo; the responder exits right after.
    static func quit<E: BenchTransport & ~Copyable>(
        _ endpoint: borrowing E, out: borrowing MessageBuffer, in ack: borrowing MessageBuffer
    ) throws(BenchError) {
        out.tag = BenchTag.quit.rawValue
        try endpoint.send(UnsafeRawBufferPointer(out.bytes))
        try endpoint.receive(into: ack.bytes)
        if ack.tag != BenchTag.quit.rawValue { throw .unknownTag(ack.tag) }
    }
}
