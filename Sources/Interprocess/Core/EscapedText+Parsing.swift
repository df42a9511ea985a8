extension EscapedText {
    /// The bytes `render` shows as `text`: `\xHH` is the byte HH, `\\` a
    /// backslash, every other character its UTF-8. So what `ipc ls` prints can be
    /// given back (`ipc rm mq '/\xff\xfe'`). A backslash followed by anything
    /// else stands for itself.
    public static func bytes(parsing text: String) -> [UInt8] {
        bytes(parsing: Array(text.utf8))
    }

    /// The same, for text given as bytes (a raw command-line argument): bytes
    /// that are not UTF-8 stand for themselves.
    public static func bytes(parsing text: [UInt8]) -> [UInt8] {
        let backslash = UInt8(ascii: "\\")
        var bytes: [UInt8] = []
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == backslash, index + 1 < text.count, text[index + 1] == backslash {
                bytes.append(backslash)
                index += 2
            } else if byte == backslash, index + 3 < text.count, text[index + 1] == UInt8(ascii: "x"),
                      let high = hexDigit(text[index + 2]), let low = hexDigit(text[index + 3]) {
                bytes.append(high << 4 | low)
                index += 4
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return bytes
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
