import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc signal send|watch`: send a signal with a payload, or print the signals
/// the process receives as they arrive (SPEC P8, M4).
struct SignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal", abstract: "Send signals with a payload, or watch those that arrive.",
        discussion: """
            Signals are named as kill(1) names them, with or without SIG, in any case \
            (TERM, SIGHUP, usr1), as RTMIN+N or RTMAX-N for the realtime ones, or by number.

            """ + ExitStatus.table,
        subcommands: [Send.self, Watch.self])

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a signal to a process (kill), or with --value an integer payload too (sigqueue).",
            discussion: """
                With --value the signal is queued: each one sent is received, realtime signals \
                of one number in the order sent, lower numbers first. Without it, PID 0 or a \
                negative PID names a process group, as with kill(1); signal 0 only checks that \
                the process exists and may be signalled.
                """)

        @Argument(help: "The process.", transform: Send.parsePID) var pid: pid_t
        @Argument(help: "The signal: TERM, SIGUSR1, RTMIN+2, 15…", transform: parseSignal) var signal: CInt
        @Option(parsing: .unconditional, help: ArgumentHelp("The integer the receiver gets with it (\(Int32.min)…\(Int32.max)).", valueName: "N"),
                transform: Send.parseValue)
        var value: Int32?

        func run() throws {
            if let value {
                try Signals.send(signal, to: pid, value: value)
            } else {
                try Signals.send(signal, to: pid)
            }
        }

        @Sendable static func parsePID(_ text: String) throws -> pid_t {
            guard let pid = pid_t(text) else { throw ValidationError("'\(text)' is not a process id") }
            return pid
        }

        @Sendable static func parseValue(_ text: String) throws -> Int32 {
            guard let value = Int32(text) else {
                throw ValidationError("'\(text)' is not an integer from \(Int32.min) to \(Int32.max)")
            }
            return value
        }
    }

    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each signal that arrives, one line each, as it arrives, until interrupted.",
            discussion: """
                A line reads `SIGRTMIN+1 35 from pid 4242 uid 0 value 7 (SI_QUEUE)` (no value \
                when the sender attached none); with --json each line is one object: \
                {"signal":35,"name":"SIGRTMIN+1","pid":4242,"uid":0,"value":7,"code":"SI_QUEUE"}, \
                "value" null when there is none. The watched signals no longer have their usual \
                effect: `ipc signal watch TERM` is not ended by SIGTERM (Ctrl-C still ends it \
                unless INT is watched). Standard signals sent faster than they are printed may \
                arrive once; realtime signals all arrive, lower numbers first.

                """ + ExitStatus.table)

        @Argument(help: "The signals to watch.", transform: parseSignal) var signals: [CInt]
        @Option(parsing: .unconditional, help: "Stop after this many signals (\(IntegerRange.times)).", transform: IntegerRange.times.parse)
        var count: Int?
        @Option(parsing: .unconditional,
                help: ArgumentHelp("Stop with status 2 when no signal came for this many seconds.", valueName: "seconds"),
                transform: WaitOptions.parseTimeout)
        var timeout: Double?
        @Flag(help: "Print one JSON object per line.") var json = false

        func validate() throws {
            if signals.isEmpty { throw ValidationError("name at least one signal to watch") }
        }

        func run() throws {
            let stream = try SignalStream(signals)
            var received = 0
            while count.map({ received < $0 }) ?? true {
                let signal: ReceivedSignal
                if let timeout {
                    do throws(IPCError) { signal = try stream.receive(timeout: .nanoseconds(Int64(timeout * 1e9))) } catch {
                        if error.isTimeout { throw fail("no signal came within \(timeout) s", .notNow) }
                        throw error
                    }
                } else {
                    signal = try stream.receive()
                }
                try printResult(json ? Self.json(signal).renderedOnOneLine() : Self.line(signal))
                received += 1
            }
        }

        static func line(_ signal: ReceivedSignal) -> String {
            "\(Signals.name(of: signal.signal)) \(signal.signal) from pid \(signal.senderPID) uid \(signal.senderUID)"
                + (signal.value.map { " value \($0)" } ?? "") + " (\(codeName(signal.code)))"
        }

        static func json(_ signal: ReceivedSignal) -> JSONValue {
            .object([
                ("signal", .integer(Int64(signal.signal))), ("name", .string(Signals.name(of: signal.signal))),
                ("pid", .integer(Int64(signal.senderPID))), ("uid", .unsigned(UInt64(signal.senderUID))),
                ("value", signal.value.map { .integer(Int64($0)) } ?? .null), ("code", .string(codeName(signal.code))),
            ])
        }

        /// `si_code` by its C name.
        static func codeName(_ code: CInt) -> String {
            switch code {
            case CInt(SI_USER): "SI_USER"
            case CInt(SI_QUEUE): "SI_QUEUE"
            case CInt(SI_TKILL): "SI_TKILL"
            case CInt(SI_KERNEL): "SI_KERNEL"
            case CInt(SI_MESGQ): "SI_MESGQ"
            case CInt(SI_TIMER): "SI_TIMER"
            case CInt(SI_ASYNCIO): "SI_ASYNCIO"
            case CInt(SI_SIGIO): "SI_SIGIO"
            default: "si_code \(code)"
            }
        }
    }
}

/// A signal argument: `Signals.number(named:)`, its error a usage error.
@Sendable private func parseSignal(_ text: String) throws -> CInt {
    do { return try Signals.number(named: text) } catch { throw ValidationError("\(error.detail ?? "not a signal"): '\(text)'") }
}
