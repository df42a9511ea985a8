import ArgumentParser
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `--mode 600`: permission bits in octal, 0 to 777, for the objects `ipc` creates.
struct PosixObjectMode: Sendable {
    var permissions: FilePermissions

    static let ownerReadWrite = PosixObjectMode(permissions: .ownerReadWrite)

    /// `600`, `0640` → the bits; anything else is a usage error naming the range.
    /// (The option's transform: `@Option(transform: PosixObjectMode.parse) var mode`.)
    @Sendable static func parse(_ text: String) throws -> PosixObjectMode {
        let digits = text.drop { $0 == "0" }
        guard !text.isEmpty, text.allSatisfy({ ("0"..."7").contains($0) }) else {
            throw ValidationError("not octal permission bits: give 0 to 777, e.g. 600 or 0640")
        }
        guard digits.count <= 3, let bits = mode_t(digits.isEmpty ? "0" : String(digits), radix: 8) else {
            throw ValidationError("out of range: give octal permission bits 0 to 777 (no setuid, setgid or sticky bits)")
        }
        return PosixObjectMode(permissions: FilePermissions(rawValue: bits))
    }

    /// The text each `--mode` help ends with.
    static func help(_ umask: String) -> String {
        "Permission bits in octal, 0 to 777 (default 600; \(umask))."
    }
}
