import Interprocess
import Testing

/// Names are bytes; shown to people they are escaped (issue 8, items 9 and 10).
@Suite("Escaped text")
struct EscapedTextTests {
    @Test("printable UTF-8 stays as it is", arguments: ["/orders", "/café", "/日本", "/a b", "/emoji🙂", ""])
    func printableUnchanged(text: String) {
        #expect(EscapedText.render(Array(text.utf8)) == text)
    }

    @Test("invalid UTF-8 and control characters become \\xHH, one per byte", arguments: [
        ([0x2f, 0xff, 0xfe], "/\\xff\\xfe"),
        ([0x61, 0x0a, 0x62], "a\\x0ab"),                 // newline
        ([0x61, 0x09, 0x62], "a\\x09b"),                 // tab
        ([0x7f], "\\x7f"),                               // DEL
        ([0x00], "\\x00"),                               // NUL
        ([0x1b, 0x5b, 0x33, 0x31, 0x6d], "\\x1b[31m"),   // an escape sequence cannot colour the terminal
        ([0xc2, 0x85], "\\xc2\\x85"),                    // C1 control NEL, valid UTF-8
        ([0xc3], "\\xc3"),                               // truncated sequence
        ([0xc3, 0x41], "\\xc3A"),                        // a bad continuation does not swallow the next character
        ([0xe2, 0x82], "\\xe2\\x82"),                    // truncated three-byte sequence
        ([0xc0, 0xaf], "\\xc0\\xaf"),                    // overlong "/"
        ([0xed, 0xa0, 0x80], "\\xed\\xa0\\x80"),          // a surrogate is not UTF-8
        ([0x41, 0xf0, 0x9f, 0x99, 0x82, 0xff], "A🙂\\xff"),
    ] as [([UInt8], String)])
    func escaped(bytes: [UInt8], rendering: String) {
        #expect(EscapedText.render(bytes) == rendering)
    }

    @Test("a backslash is escaped, so the rendering is unambiguous")
    func backslash() {
        #expect(EscapedText.render(Array("a\\b".utf8)) == "a\\\\b")
        // The text "\xff" and the byte 0xff render differently.
        #expect(EscapedText.render(Array("\\xff".utf8)) == "\\\\xff")
        #expect(EscapedText.render([0xff]) == "\\xff")
    }

    @Test("every byte string renders to one line of printable text", arguments: 0..<200)
    func randomBytesStayOneLine(seed: Int) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = EscapedText.render(bytes)
        #expect(!text.unicodeScalars.contains { $0.properties.generalCategory == .control })
    }

    @Test("a POSIX IPC name shows escaped and keeps its bytes")
    func nameDescription() {
        let name = PosixIPCName(bytes: [0x2f, 0xff, 0x0a])
        #expect(name.description == "/\\xff\\x0a")
        #expect(name.bytes == [0x2f, 0xff, 0x0a])
        #expect(name.string == nil)
        let literal: PosixIPCName = "/orders"
        #expect(literal == PosixIPCName(bytes: Array("/orders".utf8)))
        #expect(PosixIPCName("/café").bytes == Array("/café".utf8))
    }
}
