/// A size in bytes as util-linux tools print it for people (`lsipc`, `lsblk`):
/// `512B`, `4K`, `1.5M`, `8G` — powers of 1024, one decimal, ".0" dropped.
func humanSize(_ bytes: Int) -> String {
    let units = ["B", "K", "M", "G", "T", "P", "E"]
    var exponent = 0
    while exponent + 1 < units.count, bytes.magnitude >> (10 * UInt(exponent + 1)) > 0 { exponent += 1 }
    if exponent == 0 { return "\(bytes)B" }
    let tenths = Int((Double(bytes) / Double(UInt64(1) << (10 * UInt64(exponent))) * 10).rounded())
    let whole = "\(bytes < 0 ? "-" : "")\(abs(tenths) / 10)"
    return (tenths % 10 == 0 ? whole : whole + ".\(abs(tenths) % 10)") + units[exponent]
}

/// A count of bytes in a sentence: `1 byte`, `0 bytes`, `4096 bytes`.
func byteCount(_ count: Int) -> String { count == 1 ? "1 byte" : "\(count) bytes" }
