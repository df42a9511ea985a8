/// How the library and `ipc` show bytes that name something — a POSIX IPC name,
/// a path — as one line of text that says exactly which bytes they are.
///
/// Valid UTF-8 that prints stays as it is (`/orders`, `/café`). Every byte of
/// invalid UTF-8 and every byte of a control character (`\n`, `\t`, DEL, the C1
/// controls) becomes `\xHH` (lowercase hex), as util-linux's `lslocks` and `lsipc`
/// show names. A backslash becomes `\\`, so the rendering is unambiguous: the
/// bytes `\x41` and the byte `A` render differently (`\\x41`, `A`).
public enum EscapedText {
    /// `bytes` as text, escaped as the type describes: `/\xff\xfe`, `/a\x0ab`.
    public static func render(_ bytes: some Sequence<UInt8>) -> String {
        let bytes = Array(bytes)
        var text = ""
        var position = 0
        var input = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &input) {
            case .valid(let encoded):
                position += encoded.count
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar == "\\" {
                    text += "\\\\"
                } else if scalar.properties.generalCategory == .control {
                    for byte in encoded { appendEscaped(byte, to: &text) }
                } else {
                    text.unicodeScalars.append(scalar)
                }
            case .error(let length):
                for byte in bytes[position ..< position + length] { appendEscaped(byte, to: &text) }
                position += length
            case .emptyInput:
                return text
            }
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func appendEscaped(_ byte: UInt8, to text: inout String) {
        text += "\\x"
        text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
        text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0xf)]))
    }
}
