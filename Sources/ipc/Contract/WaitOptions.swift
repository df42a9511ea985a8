import ArgumentParser
import Interprocess

/// `--timeout SECONDS` and `--nowait`: how every `ipc` command that can block
/// (`mq send|recv`, `msg send|recv`, `sem wait`, `semset op`) may wait. Giving up
/// exits with status 2 (`ExitStatus.notNow`); the two exclude each other.
///
/// `--nonblock` (the old flag of `ipc mq`) and `--try` (of `ipc sem wait`) are kept
/// as hidden aliases of `--nowait`.
struct WaitOptions: ParsableArguments {
    /// The longest `--timeout`: a wait in nanoseconds must fit 64 bits (about 292 years).
    static let timeoutLimit = 9_223_372_036.0

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Wait at most this many seconds (e.g. 0.5), then exit with status 2.", valueName: "seconds"),
            transform: WaitOptions.parseTimeout)
    var timeout: Double?

    @Flag(name: .customLong("nowait"), help: "Do not wait: exit with status 2 at once when it would block.")
    var nowaitFlag = false

    @Flag(name: .customLong("nonblock"), help: .hidden) var nonblockAlias = false
    @Flag(name: .customLong("try"), help: .hidden) var tryAlias = false

    /// `--nowait` or one of its aliases.
    var nowait: Bool { nowaitFlag || nonblockAlias || tryAlias }

    func validate() throws {
        if timeout != nil && nowait { throw ValidationError("--timeout and --nowait exclude each other") }
    }

    /// The deadline `--timeout` sets; nil to wait for as long as it takes.
    func deadline() -> Deadline? {
        timeout.map { .after(.nanoseconds(Int64($0 * 1e9))) }
    }

    /// `0.5` → 0.5; a negative, non-finite or too large number is a usage error naming the range.
    @Sendable static func parseTimeout(_ text: String) throws -> Double {
        guard let seconds = Double(text), seconds.isFinite else {
            throw ValidationError("'\(text)' is not a number of seconds; give 0 to \(Int64(timeoutLimit)), e.g. 0.5")
        }
        guard seconds >= 0, seconds <= timeoutLimit else {
            throw ValidationError("out of range: give 0 to \(Int64(timeoutLimit)) seconds (about 292 years: the nanoseconds must fit 64 bits)")
        }
        return seconds
    }
}
