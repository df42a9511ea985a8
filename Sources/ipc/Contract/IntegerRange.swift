import ArgumentParser

/// The values an integer option accepts, checked while the arguments are parsed:
/// every numeric option of `ipc` is declared with one, so no value wraps or is
/// truncated on its way to a system call, and a refused value is told the range.
///
/// ```swift
/// @Option(parsing: .unconditional, help: "The ftok project id (\(IntegerRange.projectID)).",
///         transform: IntegerRange.projectID.parse)
/// var proj: Int?
/// ```
/// Options take `.unconditional` parsing so that a negative value (`--type -2`,
/// `--priority -1`) reaches the check instead of being read as an option.
struct IntegerRange<Value: FixedWidthInteger & Sendable>: Sendable, CustomStringConvertible {
    let bounds: ClosedRange<Value>
    /// Where the bounds come from, when that is not obvious: `SEMMSL on this host`.
    let source: String?

    init(_ bounds: ClosedRange<Value>, source: String? = nil) {
        self.bounds = bounds
        self.source = source
    }

    /// `1 to 32000 (SEMMSL on this host)`, as help texts and errors say it.
    var description: String {
        "\(bounds.lowerBound) to \(bounds.upperBound)" + (source.map { " (\($0))" } ?? "")
    }

    /// The value `text` writes in decimal; a usage error naming the range otherwise.
    @Sendable func parse(_ text: String) throws -> Value {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        let isNumber = !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        guard isNumber else { throw ValidationError("not a decimal integer: give \(self)") }
        guard let value = Value(text), bounds.contains(value) else {
            throw ValidationError("out of range: give \(self)")
        }
        return value
    }
}

extension IntegerRange where Value == Int {
    /// A count of bytes, an offset or a length: 0 to Int.max.
    static let bytes = IntegerRange(0...Int.max)
    /// How many times, at least once.
    static let times = IntegerRange(1...Int.max)
    /// `ftok`'s project id: its low 8 bits are used and must not be zero.
    static let projectID = IntegerRange(1...255, source: "ftok uses the low 8 bits")
}

extension IntegerRange where Value == Int32 {
    /// A System V identifier, as `ipcs` and `ipc ls` print it.
    static let systemVIdentifier = IntegerRange(0...Int32.max)
}
