import ArgumentParser
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `--mode 600`: permission bits in octal, for the POSIX objects `ipc` creates.
struct PosixObjectMode: ExpressibleByArgument, Sendable {
    var permissions: FilePermissions

    init?(argument: String) {
        guard !argument.isEmpty, argument.count <= 4, let bits = mode_t(argument, radix: 8), bits <= 0o777 else { return nil }
        permissions = FilePermissions(rawValue: bits)
    }

    static let ownerReadWrite = PosixObjectMode(argument: "600")!

    var defaultValueDescription: String { String(permissions.rawValue, radix: 8) }
}
