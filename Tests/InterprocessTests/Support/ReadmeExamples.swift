import Foundation

/// The examples of README.md: the lines of its ```sh blocks, in order, the inline
/// `ipc …` code spans of its prose, and its ```swift blocks.
struct ReadmeExamples {
    /// A line of a ```sh block: the command without its `# comment`.
    struct Line {
        var command: String
        var lineNumber: Int
        /// Ends with `&`: started in the background.
        var isBackground: Bool { command.hasSuffix("&") }
    }

    var lines: [Line] = []
    var inlineCommands: [String] = []
    /// The lines of each ```swift block, as written.
    var swiftBlocks: [[String]] = []

    /// The README of this package.
    static func load() throws -> ReadmeExamples {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return ReadmeExamples(try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8))
    }

    init(_ text: String) {
        var fence: String?
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                fence = fence == nil ? String(trimmed.dropFirst(3)) : nil
                if fence == "swift" { swiftBlocks.append([]) }
                continue
            }
            if fence == "swift" {
                swiftBlocks[swiftBlocks.count - 1].append(String(line))
            } else if let fence {
                let command = Self.withoutComment(String(line))
                if fence == "sh", !command.isEmpty { lines.append(Line(command: command, lineNumber: index + 1)) }
            } else {
                inlineCommands += Self.codeSpans(String(line)).filter { $0.hasPrefix("ipc ") || $0 == "ipc" }
            }
        }
    }

    /// `ipc mq recv /orders   # priority 7` → `ipc mq recv /orders`: a `#` that starts
    /// a word outside quotes starts a comment, as in sh.
    static func withoutComment(_ line: String) -> String {
        var quote: Character?
        var previous: Character = " "
        var result = ""
        for character in line {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "#", previous.isWhitespace {
                break
            }
            result.append(character)
            previous = character
        }
        return result.trimmingCharacters(in: .whitespaces)
    }

    /// The `code spans` of a line of prose.
    static func codeSpans(_ line: String) -> [String] {
        line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }
}
