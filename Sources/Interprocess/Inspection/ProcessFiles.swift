#if canImport(Glibc)
import Glibc
#endif

/// Which processes have which files open (/proc/PID/fd) or mapped
/// (/proc/PID/maps), as `lsof` and `lslocks` find them: to name a locked file by
/// its device and inode, and to count the users of a POSIX object.
struct ProcessFiles {
    /// A file as the kernel names it in /proc/locks and /proc/PID/maps.
    struct FileIdentity: Hashable {
        var major: UInt32
        var minor: UInt32
        var inode: UInt64

        init(major: UInt32, minor: UInt32, inode: UInt64) {
            self.major = major
            self.minor = minor
            self.inode = inode
        }

        init(_ info: stat) {
            // glibc's encoding of dev_t (gnu_dev_major, gnu_dev_minor).
            let device = UInt64(info.st_dev)
            major = UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff))
            minor = UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff))
            inode = UInt64(info.st_ino)
        }
    }

    /// A path each file was open under (from the /proc/PID/fd link), exact.
    private(set) var paths: [FileIdentity: [UInt8]] = [:]
    /// The processes that have each file open or mapped.
    private(set) var users: [FileIdentity: Set<pid_t>] = [:]
    /// False when some process's files could not be read (another user's, without
    /// privilege), so `users` may miss some.
    private(set) var isComplete = true
    private(set) var scannedAll = false

    /// Adds every process on the host.
    mutating func addAll(maps: Bool) {
        guard !scannedAll else { return }
        scannedAll = true
        for name in (try? directoryEntries("/proc")) ?? [] {
            if let pid = pid_t(name), pid > 0 { add(pid, maps: maps) }
        }
    }

    /// Adds the open files (and, with `maps`, the mapped files) of process `pid`.
    mutating func add(_ pid: pid_t, maps: Bool) {
        let directory = "/proc/\(pid)/fd"
        let descriptors: [String]
        do throws(IPCError) { descriptors = try directoryEntries(directory) } catch {
            if error.errno != .noSuchFileOrDirectory { isComplete = false }  // not a process that just exited
            return
        }
        for fd in descriptors {
            let link = directory + "/" + fd
            var info = stat()
            guard system_fstatat(AT_FDCWD, link, &info, 0) == 0 else { continue }
            let identity = FileIdentity(info)
            users[identity, default: []].insert(pid)
            if paths[identity] == nil, let path = linkTarget(link), path.first == UInt8(ascii: "/") { paths[identity] = path }
        }
        guard maps, let text = try? InventoryText.read("/proc/\(pid)/maps") else { return }
        // address perms offset major:minor inode path
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, let inode = UInt64(fields[4]), inode != 0 else { continue }
            let device = fields[3].split(separator: ":")
            guard device.count == 2, let major = UInt32(device[0], radix: 16), let minor = UInt32(device[1], radix: 16) else { continue }
            users[FileIdentity(major: major, minor: minor, inode: inode), default: []].insert(pid)
        }
    }
}
