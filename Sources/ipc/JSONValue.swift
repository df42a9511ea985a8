/// A JSON document built in memory and printed by hand, so the CLI needs no
/// Foundation. Object keys keep the order they were given in.
enum JSONValue {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// The document as text: one value per line, indented by one space per level
    /// (like Python's `json.dump(indent=1)`, which `refbench/ref` uses).
    func rendered() -> String {
        var out = ""
        render(into: &out, indent: 0)
        return out
    }

    /// The document on one line, with no spaces: for output written a line per
    /// event (JSON Lines), as `ipc signal watch --json` prints.
    func renderedOnOneLine() -> String {
        var out = ""
        render(into: &out, indent: nil)
        return out
    }

    /// `indent` nil: all on one line.
    private func render(into out: inout String, indent: Int?) {
        let newline = indent == nil ? "" : "\n"
        func pad(_ level: Int) -> String { indent == nil ? "" : String(repeating: " ", count: level) }
        let inner = indent.map { $0 + 1 }
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .unsigned(let value): out += String(value)
        case .number(let value):
            // JSON has no infinity or NaN.
            if value.isFinite { out += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value) } else { out += "null" }
        case .string(let value): JSONValue.quote(value, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + newline
            for (i, item) in items.enumerated() {
                out += pad((indent ?? 0) + 1)
                item.render(into: &out, indent: inner)
                out += (i == items.count - 1 ? "" : ",") + newline
            }
            out += pad(indent ?? 0) + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{" + newline
            for (i, (key, value)) in members.enumerated() {
                out += pad((indent ?? 0) + 1)
                JSONValue.quote(key, into: &out)
                out += indent == nil ? ":" : ": "
                value.render(into: &out, indent: inner)
                out += (i == members.count - 1 ? "" : ",") + newline
            }
            out += pad(indent ?? 0) + "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
