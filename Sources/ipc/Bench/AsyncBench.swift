import Dispatch
import Histogram
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// A mechanism driven through the library's async forms: the same kernel objects
/// as its blocking twin (whose `initiator`/`responder` make and attach them), with
/// `send`/`receive` that suspend the task instead of blocking a thread. The loops
/// are those of `Initiator`/`Responder`, run as one task per run; the calling
/// thread waits for that task.
protocol AsyncBenchTransport: AnyObject, Sendable {
    static var name: String { get }
    static var maximumMessageSize: Int? { get }
    static func unsupportedReason(size: Int) -> String?
    static func note(size: Int) -> String?
    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> Self
    static func responder(objects: [String]) throws(IPCError) -> Self
    func sendAsync(_ message: UnsafeRawBufferPointer) async throws(BenchError)
    func receiveAsync(into message: UnsafeMutableRawBufferPointer) async throws(BenchError)
}

/// What a task run by `runTask` ended with.
private final class TaskOutcome<R>: @unchecked Sendable {
    var result: Result<R, BenchError>?
}

/// Runs `body` as a task and blocks the calling thread until it ends (once per
/// run, not per message).
func runTask<R: Sendable>(_ body: @escaping @Sendable () async throws(BenchError) -> R) throws(BenchError) -> R {
    let outcome = TaskOutcome<R>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do throws(BenchError) { outcome.result = .success(try await body()) } catch { outcome.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

/// The async twins of `Initiator`'s and `Responder`'s loops (the same protocol,
/// one clock read per round trip; see there).
enum AsyncLoops {
    static func latency<E: AsyncBenchTransport>(_ endpoint: E, plan: BenchPlan, out: borrowing MessageBuffer, in echo: borrowing MessageBuffer) async throws(BenchError) -> LatencySummary {
        let outgoing = UnsafeRawBufferPointer(out.bytes)
        let incoming = echo.bytes
        out.tag = BenchTag.ping.rawValue
        var sequence: UInt64 = 0
        for _ in 0..<plan.warmupRoundTrips {
            sequence &+= 1
            out.sequence = sequence
            try await endpoint.sendAsync(outgoing)
            try await endpoint.receiveAsync(into: incoming)
            try Initiator.check(echo, sequence)
        }
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Initiator.highestTrackable, numberOfSignificantValueDigits: .three)
        var t0 = monotonicNanoseconds()
        let start = t0
        var count = 0
        while count < plan.roundTrips {
            if count >= 1000 && t0 &- start > plan.latencyCapNanoseconds { break }
            sequence &+= 1
            out.sequence = sequence
            try await endpoint.sendAsync(outgoing)
            try await endpoint.receiveAsync(into: incoming)
            let t1 = monotonicNanoseconds()
            histogram.record(Swift.min(t1 &- t0, Initiator.highestTrackable))
            t0 = t1
            try Initiator.check(echo, sequence)
            count += 1
        }
        return LatencySummary(
            p50: histogram.valueAtPercentile(50), p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9),
            min: histogram.min, max: histogram.max, mean: histogram.mean, count: count, warmup: plan.warmupRoundTrips)
    }

    static func throughput<E: AsyncBenchTransport>(_ endpoint: E, plan: BenchPlan, out: borrowing MessageBuffer, in ack: borrowing MessageBuffer) async throws(BenchError) -> ThroughputSummary {
        let outgoing = UnsafeRawBufferPointer(out.bytes)
        var rates: [Double] = []
        rates.reserveCapacity(plan.throughputRepetitions)
        for repetition in -1..<plan.throughputRepetitions {
            let limit = repetition < 0 ? plan.throughputWarmupNanoseconds : plan.throughputNanoseconds
            out.tag = BenchTag.data.rawValue
            var messages = 0
            let t0 = monotonicNanoseconds()
            repeat {
                for _ in 0..<plan.batch { try await endpoint.sendAsync(outgoing) }
                messages += plan.batch
            } while monotonicNanoseconds() &- t0 < limit
            out.tag = BenchTag.sync.rawValue
            try await endpoint.sendAsync(outgoing)
            try await endpoint.receiveAsync(into: ack.bytes)
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

    static func quit<E: AsyncBenchTransport>(_ endpoint: E, out: borrowing MessageBuffer, in ack: borrowing MessageBuffer) async throws(BenchError) {
        out.tag = BenchTag.quit.rawValue
        try await endpoint.sendAsync(UnsafeRawBufferPointer(out.bytes))
        try await endpoint.receiveAsync(into: ack.bytes)
        if ack.tag != BenchTag.quit.rawValue { throw .unknownTag(ack.tag) }
    }

    static func serve<E: AsyncBenchTransport>(_ endpoint: E, message: UnsafeMutableRawBufferPointer, fault: BenchPeerFault?) async throws(BenchError) {
        var received = 0
        while true {
            try await endpoint.receiveAsync(into: message)
            received += 1
            if let fault, received >= fault.afterMessages { fault.strike() }
            switch message[0] {
            case BenchTag.ping.rawValue, BenchTag.sync.rawValue:
                try await endpoint.sendAsync(UnsafeRawBufferPointer(message))
            case BenchTag.data.rawValue:
                break
            case BenchTag.quit.rawValue:
                try await endpoint.sendAsync(UnsafeRawBufferPointer(message))
                return
            default:
                throw .unknownTag(message[0])
            }
        }
    }
}

extension BenchMechanism {
    /// An async mechanism: set up as its blocking twin, measured through its async forms.
    init<T: AsyncBenchTransport>(async transport: T.Type) {
        name = T.name
        maximumMessageSize = T.maximumMessageSize
        unsupportedReason = { size in T.unsupportedReason(size: size) }
        measure = { (session, size, result) throws(BenchError) in try session.measureAsync(T.self, size: size, into: &result) }
        respond = { (options) throws(BenchError) in
            let endpoint: T
            do throws(IPCError) { endpoint = try T.responder(objects: options.objects) } catch {
                throw .setup(run: "\(T.name) responder", error)
            }
            try runTask { () async throws(BenchError) in
                let buffer = MessageBuffer(size: options.size)
                try await AsyncLoops.serve(endpoint, message: buffer.bytes, fault: options.fault)
            }
        }
    }
}

extension BenchSession {
    /// `measure` for an async mechanism: the same steps, with the loops run as
    /// one task.
    func measureAsync<T: AsyncBenchTransport>(_ transport: T.Type, size: Int, into result: inout BenchResult) throws(BenchError) {
        let (label, name, peer) = makePeer(mechanism: T.name, size: size)
        defer { ledger.removeAll() }

        let endpoint: T
        do throws(IPCError) { endpoint = try T.initiator(name: name, peer: peer) } catch {
            throw peer.diagnose(.setup(run: label, error))
        }
        do throws(BenchError) {
            result.note = T.note(size: size)
            let plan = self.plan
            nonisolated(unsafe) let progress = self.progress
            let measured = try runTask { () async throws(BenchError) -> AsyncMeasurement in
                let out = MessageBuffer(size: size), echo = MessageBuffer(size: size)
                out.fillPattern()
                var measurement = AsyncMeasurement()
                if BenchPlan.latencySizes.contains(size) {
                    progress.step("\(label) latency")
                    measurement.latency = try await AsyncLoops.latency(endpoint, plan: plan, out: out, in: echo)
                }
                if BenchPlan.throughputSizes.contains(size) {
                    progress.step("\(label) throughput")
                    measurement.throughput = try await AsyncLoops.throughput(endpoint, plan: plan, out: out, in: echo)
                }
                try await AsyncLoops.quit(endpoint, out: out, in: echo)
                return measurement
            }
            result.latency = measured.latency
            result.throughput = measured.throughput
            try peer.finish()
        } catch {
            throw peer.diagnose(error)
        }
    }
}

struct AsyncMeasurement: Sendable {
    var latency: LatencySummary?
    var throughput: ThroughputSummary?
}
