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

    /// Tests only: `crash:N` or `stall:N` makes the child misbehave after N messages.
    @Option(name: .customLong("peer-fault"), help: .hidden)
    var peerFault: String?

    /// Tests only: seconds before a run counts as stuck.
    @Option(name: .customLong("watchdog-seconds"), help: .hidden)
    var watchdogSeconds: Int = 120

    func validate() throws {
        _ = try selectedMechanisms()
        if let peerFault, BenchPeerFault(peerFault) == nil { throw ValidationError("--peer-fault takes crash:N or stall:N") }
        if watchdogSeconds < 1 { throw ValidationError("--watchdog-seconds must be at least 1") }
    }

    /// The mechanisms named by `--only`, in table order; all of them by default.
    func selectedMechanisms() throws -> [BenchMechanism] {
        let names = only.flatMap { $0.split(separator: ",").map { String($0).trimmingSpaces() } }.filter { !$0.isEmpty }
        if names.isEmpty { return BenchMechanisms.all }
        let known = BenchMechanisms.names
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown mechanism '\(unknown)'; known mechanisms: \(known.joined(separator: ", "))")
        }
        return BenchMechanisms.all.filter { names.contains($0.name) }
    }

    func run() throws {
        let mechanisms = try selectedMechanisms()
        let placement = CPUPlacement.choose(pin: !noPin)
        if let cpu = placement.parent { try CPUPlacement.pin(to: cpu) }
        let steps = mechanisms.reduce(0) { total, mechanism in
            total + BenchPlan.sizes.filter(mechanism.supports).reduce(0) { count, size in
                count + (BenchPlan.latencySizes.contains(size) ? 1 : 0) + (BenchPlan.throughputSizes.contains(size) ? 1 : 0)
            }
        }
        let progress = BenchProgress(total: steps)
        var session = BenchSession(plan: quick ? .quick : .full, placement: placement,
                                   executable: Self.executablePath(), progress: progress)
        session.peerFault = peerFault.flatMap(BenchPeerFault.init)
        session.watchdogSeconds = watchdogSeconds

        var results: [BenchResult] = []
        var skipped: [BenchSkip] = []
        do {
            defer { progress.finish() }
            for mechanism in mechanisms {
                for size in BenchPlan.sizes {
                    if let reason = mechanism.unsupportedReason(size) {
                        skipped.append(BenchSkip(mechanism: mechanism.name, size: size, reason: reason))
                        continue
                    }
                    results.append(try mechanism.measure(session, size))
                }
            }
        }

        let json = BenchJSON.document(results, skipped: skipped, quick: quick, placement: placement).rendered() + "\n"
        if jsonPath == "-" {
            print(json, terminator: "")
        } else {
            print(BenchTable.render(results, skipped: skipped))
            if let jsonPath { try Self.write(json, to: jsonPath) }
        }
    }

    /// This executable's path, for spawning the child; `/proc/self/exe` itself if
    /// the link cannot be read.
    static func executablePath() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : "/proc/self/exe"
    }

    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let ok = fputs(text, file) >= 0
        if fclose(file) != 0 || !ok { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
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
