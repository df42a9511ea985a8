import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Whether the running kernel enforces mandatory record locks (SPEC Y9) — it does
/// not on any current Linux, and this says so instead of pretending.
///
/// With mandatory locking a `read` or `write` that crosses another process's
/// record lock waits (or fails with `EAGAIN`) instead of going through. Linux
/// had it only when all of these held:
/// 1. the kernel was older than 5.15 (commit f7e33bdbd6d1 removed it) and built
///    with `CONFIG_MANDATORY_FILE_LOCKING`;
/// 2. the file's filesystem was mounted with `-o mand`;
/// 3. the file had its set-group-ID bit set and group-execute clear.
///
/// What to do instead: every process that touches the file takes a `RecordLock` /
/// `OpenFileLock` first (advisory locking, which is all the kernel enforces).
public struct MandatoryLocking: Sendable, CustomStringConvertible {
    /// True only when every condition above holds.
    public var isProvided: Bool { missing.isEmpty }
    /// Each condition that does not hold, in words; empty when provided.
    public var missing: [String]

    /// Checks the running kernel (`uname`), and, given a file, its mount (`mand`
    /// in /proc/self/mountinfo) and its mode (`fstatat`).
    public static func check(file: FilePath? = nil) -> MandatoryLocking {
        var name = utsname()
        _ = uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var mountHasMand: Bool?
        var mode: mode_t?
        if let file {
            var status = stat()
            if file.withPlatformString({ system_fstatat(AT_FDCWD, $0, &status, 0) }) == 0 {
                mode = status.st_mode
                mountHasMand = mountOptions(of: ProcessFiles.FileIdentity(status)).map { $0.contains("mand") }
            }
        }
        return evaluate(kernelRelease: release, kernelConfig: kernelConfig(release), mountHasMand: mountHasMand,
                        fileMode: mode, file: file)
    }

    /// Throws `ENOTSUP` naming what is missing, unless mandatory locking is
    /// provided for `file`.
    public static func require(file: FilePath? = nil) throws(IPCError) {
        let report = check(file: file)
        if !report.isProvided {
            throw IPCError(.notSupported, operation: "mandatory locking", object: file.map { IPCError.describe(path: $0) },
                           detail: report.missing.joined(separator: "; "))
        }
    }

    public var description: String {
        isProvided ? "mandatory locking is provided" : "mandatory locking is not provided: " + missing.joined(separator: "; ")
    }

    /// The decision, from what `check` read (nil: not known / not asked).
    static func evaluate(kernelRelease: String, kernelConfig: String?, mountHasMand: Bool?, fileMode: mode_t?,
                         file: FilePath?) -> MandatoryLocking {
        var missing: [String] = []
        let numbers = kernelRelease.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        if numbers.count == 2, (numbers[0], numbers[1]) >= (5, 15) {
            missing.append("Linux \(kernelRelease) has none: mandatory locking was removed in Linux 5.15")
        } else if numbers.count < 2 {
            missing.append("the kernel release \"\(kernelRelease)\" is not a Linux version this check understands")
        } else if let kernelConfig {
            if !kernelConfig.split(separator: "\n").contains("CONFIG_MANDATORY_FILE_LOCKING=y") {
                missing.append("the kernel was built without CONFIG_MANDATORY_FILE_LOCKING")
            }
        } else {
            missing.append("the kernel configuration is not readable, so CONFIG_MANDATORY_FILE_LOCKING cannot be confirmed")
        }
        if file == nil {
            missing.append("no file was named: it also needs a filesystem mounted with -o mand and the file's set-group-ID bit set with group-execute clear")
        } else {
            switch mountHasMand {
            case nil: missing.append("the file's mount could not be found or the file could not be read")
            case false?: missing.append("the file's filesystem is not mounted with -o mand")
            case true?: break
            }
            if let mode = fileMode, mode & S_ISGID == 0 || mode & S_IXGRP != 0 {
                missing.append("the file does not have its set-group-ID bit set with group-execute clear")
            }
        }
        return MandatoryLocking(missing: missing)
    }

    /// The options (per-mount and superblock) of the mount of `device`, from
    /// /proc/self/mountinfo (`ID PARENT MAJOR:MINOR ROOT POINT OPTIONS … - TYPE SOURCE SUPER`).
    static func mountOptions(of file: ProcessFiles.FileIdentity) -> [String]? {
        guard let text = try? InventoryText.read("/proc/self/mountinfo") else { return nil }
        let wanted = "\(file.major):\(file.minor)"
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 5, fields[2] == wanted else { continue }
            var options = fields[5].split(separator: ",").map(String.init)
            if let dash = fields.firstIndex(of: "-"), dash + 3 < fields.count {
                options += fields[dash + 3].split(separator: ",").map(String.init)
            }
            return options
        }
        return nil
    }

    private static func kernelConfig(_ release: String) -> String? {
        try? InventoryText.read("/boot/config-\(release)")
    }
}
