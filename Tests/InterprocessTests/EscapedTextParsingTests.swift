import Interprocess
import Testing

/// `EscapedText.bytes(parsing:)`: what `EscapedText.render` shows is given back
/// as the same bytes (`ipc rm` takes names as `ipc ls` prints them).
@Suite("Escaped text parsing")
struct EscapedTextParsingTests {
    @Test("render then parse gives back every byte sequence, including backslashes and \\x lookalikes")
    func roundTrip() {
        var generator = SystemRandomNumberGenerator()
        let samples: [[UInt8]] = [
            Array("/orders".utf8), [0x2f, 0xff, 0xfe], Array("/a\nb\t".utf8), Array("/back\\slash".utf8),
            Array("/\\x41".utf8), Array("/café".utf8), [0x2f, 0x5c, 0x5c, 0x78], [0x7f, 0xc3], [],
        ] + (0..<200).map { _ in (0..<Int.random(in: 0...12, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        for bytes in samples {
            let text = EscapedText.render(bytes)
            #expect(EscapedText.bytes(parsing: text) == bytes, "\(text)")
        }
    }

    @Test("a backslash that starts no escape stands for itself; hex digits of either case")
    func lenient() {
        #expect(EscapedText.bytes(parsing: "/a\\b") == Array("/a\\b".utf8))
        #expect(EscapedText.bytes(parsing: "/\\xF") == Array("/\\xF".utf8))
        #expect(EscapedText.bytes(parsing: "/\\xFf\\x0A") == [0x2f, 0xff, 0x0a])
        #expect(EscapedText.bytes(parsing: [0x2f, 0xff, 0x5c, 0x78, 0x30, 0x30]) == [0x2f, 0xff, 0x00])
    }
}
