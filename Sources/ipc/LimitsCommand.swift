import ArgumentParser
import Interprocess

/// `ipc limits`: every IPC limit of this host and process (SPEC L1).
///
/// With `--json`, prints
/// `{"limits":[{"name":"PIPE_BUF","category":"Pipes and descriptors","value":4096,
/// "state":"number","unit":"bytes","summary":"…","source":"fpathconf(pipe, _PC_PIPE_BUF)"}, …]}`
/// where `value` is null unless `state` is `number`; `state` is one of `number`,
/// `unlimited`, `no fixed limit`, `not available` (then `reason` says why).
struct LimitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Print the IPC limits of this host.",
        discussion: """
            Values come from sysconf, fpathconf, getrlimit and /proc/sys; each row says which. \
            With --json: {"limits": [{"name", "category", "value", "state", "unit", "summary", "source"}, …]}.
            """)

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(name: .customLong("raise-open-files"), parsing: .unconditional,
            help: ArgumentHelp("Raise this process's soft RLIMIT_NOFILE to N first (never lowers it), \(Self.openFiles).", valueName: "N"),
            transform: Self.openFiles.parse)
    var raiseOpenFiles: UInt64?

    /// Any `rlim_t`.
    static let openFiles = IntegerRange<UInt64>(0...UInt64.max)

    func run() throws {
        if let raiseOpenFiles {
            try ResourceLimit.raiseOpenFiles(to: raiseOpenFiles)
        }
        let limits = SystemLimits.current()
        print(json ? Self.json(limits).rendered() : Self.table(limits))
    }

    static func json(_ limits: SystemLimits) -> JSONValue {
        .object([("limits", .array(limits.entries.map { entry in
            var members: [(String, JSONValue)] = [
                ("name", .string(entry.name)),
                ("category", .string(entry.category.rawValue)),
                ("value", entry.value.number.map { .unsigned($0) } ?? .null),
                ("state", .string(entry.value.number == nil ? entry.value.description : "number")),
                ("unit", .string(entry.unit)),
                ("summary", .string(entry.summary)),
                ("source", .string(entry.source)),
            ]
            if case .notAvailable(let reason) = entry.value { members.append(("reason", .string(reason))) }
            return .object(members)
        }))])
    }

    static func table(_ limits: SystemLimits) -> String {
        let nameWidth = limits.entries.map(\.name.count).max() ?? 0
        let valueWidth = limits.entries.map { valueText($0).count }.max() ?? 0
        let summaryWidth = limits.entries.map(\.summary.count).max() ?? 0
        var lines: [String] = []
        for category in SystemLimit.Category.allCases {
            let entries = limits.entries.filter { $0.category == category }
            if entries.isEmpty { continue }
            if !lines.isEmpty { lines.append("") }
            lines.append(category.rawValue)
            for entry in entries {
                var line = "  " + pad(entry.name, nameWidth) + "  " + pad(valueText(entry), valueWidth, right: true)
                line += "  " + pad(entry.summary, summaryWidth) + "  " + entry.source
                if case .notAvailable(let reason) = entry.value { line += " — " + reason }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func valueText(_ entry: SystemLimit) -> String {
        if let number = entry.value.number { return entry.unit.isEmpty ? "\(number)" : "\(number) \(entry.unit)" }
        return entry.value.description
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }
}
