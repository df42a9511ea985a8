import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc bench`: every mechanism between two real processes, with the protocol of
/// refbench's C harness (see `Bench/`), one table on stdout and optionally JSON.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure every mechanism between two processes.",
        discussion: """
            Round-trip latency (p50/p99/p99.9) at 64 B and 4 KiB and one-way throughput at \
            64 B, 4 KiB and 64 KiB, between this process (on the first CPU) and a child \
            (on the second). Mechanisms: \(BenchMechanisms.names.joined(separator: ", ")).

            A run that fails is reported (marked "failed" in the table, with an "error" \
            in the JSON) and the others still run; the exit status is then 1. On SIGINT, \
            SIGTERM, SIGHUP or SIGQUIT the rows finished so far are printed, every object \
            the bench made is removed, and the bench ends by that signal. The JSON is one \
            object with the rows in its array "results".
            """)

    @Option(name: .long, parsing: .singleValue,
            help: ArgumentHelp("Measure only these mechanisms (repeatable or comma-separated).", valueName: "NAME"))
    var only: [String] = []

    @Flag(help: "Short runs, for CI: 0.3 s latency cap, one 0.1 s throughput stream.")
    var quick = false

    @Option(name: .customLong("json"), help: ArgumentHelp("Also write the results as JSON to FILE ('-' for stdout, instead of the table).", valueName: "FILE"))
    var jsonPath: String?

    @Flag(name: .customLong("no-pin"), help: "Leave CPU placement to the scheduler.")
    var noPin = false

    /// Tests only: `crash:N` or `stall:N` makes the child misbehave after N messages;
    /// `crash:N:MECHANISM`, only the children of that mechanism.
    @Option(name: .customLong("peer-fault"), help: .hidden)
    var peerFault: String?

    /// Tests only: seconds before a run counts as stuck.
    @Option(name: .customLong("watchdog-seconds"), help: .hidden)
    var watchdogSeconds: Int = 120

    func validate() throws {
        _ = try selectedMechanisms()
        if let peerFault, BenchPeerFault(peerFault) == nil { throw fail("--peer-fault takes crash:N or stall:N, optionally :MECHANISM", .usage) }
        if watchdogSeconds < 1 { throw fail("--watchdog-seconds must be at least 1", .usage) }
    }

    /// The mechanisms named by `--only`, in table order; all of them without
    /// `--only`. An empty list or name, or an unknown name, is a usage error.
    func selectedMechanisms() throws -> [BenchMechanism] {
        if only.isEmpty { return BenchMechanisms.all }
        let known = BenchMechanisms.names
        let names = only.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() } }
        if names.contains("") {
            throw fail("--only takes mechanism names separated by commas (no empty name); known mechanisms: \(known.joined(separator: ", "))", .usage)
        }
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw fail("unknown mechanism '\(unknown)'; known mechanisms: \(known.joined(separator: ", "))", .usage)
        }
        return BenchMechanisms.all.filter { names.contains($0.name) }
    }

    func run() throws {
        let mechanisms = try selectedMechanisms()
        // The JSON file first: a path that cannot be written fails now, not after the bench.
        let json: BenchJSONFile?
        do throws(IPCError) { json = try jsonPath.map(BenchJSONFile.init) } catch { throw fail("cannot write the JSON: \(error)", .failed) }
        let placement = Self.placement(pin: !noPin)
        BenchLedger.reclaimStale()
        let ledger: BenchLedger
        do throws(IPCError) { ledger = try BenchLedger() } catch { throw fail("\(error)", .failed) }
        defer { ledger.close() }
        let report = BenchReport(quick: quick, placement: placement, json: json)
        do throws(IPCError) { try BenchSignals.install(ledger: ledger, report: report) } catch { throw fail("\(error)", .failed) }

        let steps = mechanisms.reduce(0) { total, mechanism in
            total + BenchPlan.sizes.filter(mechanism.supports).reduce(0) { count, size in
                count + (BenchPlan.latencySizes.contains(size) ? 1 : 0) + (BenchPlan.throughputSizes.contains(size) ? 1 : 0)
            }
        }
        let progress = BenchProgress(total: steps)
        var session = BenchSession(plan: quick ? .quick : .full, placement: placement,
                                   executable: Self.executablePath(), progress: progress, ledger: ledger)
        session.peerFault = peerFault.flatMap(BenchPeerFault.init)
        session.watchdogSeconds = watchdogSeconds

        // Every run is reported; one that fails is marked and the others still run.
        var failures = 0
        for mechanism in mechanisms {
            for size in BenchPlan.sizes {
                if let reason = mechanism.unsupportedReason(size) {
                    report.add(BenchSkip(mechanism: mechanism.name, size: size, reason: reason))
                    continue
                }
                var result = BenchResult(mechanism: mechanism.name, size: size)
                report.starting(mechanism.name, size: size)
                do throws(BenchError) { try mechanism.measure(session, size, &result) } catch {
                    progress.finish()
                    warn("\(mechanism.name) \(BenchTable.size(size)) failed: \(error)")
                    result.failure = error.description
                    failures += 1
                }
                report.add(result)
            }
        }
        progress.finish()
        do throws(IPCError) {
            // false: a signal is ending the bench and reports it.
            guard try report.write() else { while true { pause() } }
        } catch {
            throw fail("\(error)", .failed)
        }
        if failures > 0 { throw ExitCode(ExitStatus.failed.rawValue) }
    }

    /// Where each side runs: the first two CPUs this process may use, with a
    /// warning when there are fewer or pinning fails (the sides then share CPUs
    /// as the scheduler decides, and the numbers mean less).
    static func placement(pin: Bool) -> CPUPlacement {
        guard pin else { return .unpinned }
        let placement = CPUPlacement.choose(pin: true)
        guard let cpu = placement.parent else {
            warn("warning: fewer than two CPUs available; not pinning (both sides may share a CPU)")
            return .unpinned
        }
        do throws(IPCError) { try CPUPlacement.pin(to: cpu) } catch {
            warn("warning: cannot pin to CPU \(cpu): \(error); not pinning")
            return .unpinned
        }
        return placement
    }

    /// This executable's path, for spawning the child; `/proc/self/exe` itself if
    /// the link cannot be read.
    static func executablePath() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : "/proc/self/exe"
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
