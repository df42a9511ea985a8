import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What /proc/locks says about one lock (SPEC L2), the columns `lslocks` prints.
public struct RecordLockDetails: Hashable, Sendable {
    /// Which interface made the lock: `POSIX` (fcntl F_SETLK, lockf), `FLOCK`
    /// (flock), `OFDLCK` (fcntl F_OFD_SETLK), `LEASE` (F_SETLEASE), or whatever
    /// else a newer kernel prints.
    public struct Style: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let posix = Style(rawValue: "POSIX")
        public static let flock = Style(rawValue: "FLOCK")
        public static let openFileDescription = Style(rawValue: "OFDLCK")
        public static let lease = Style(rawValue: "LEASE")
        public var description: String { rawValue }
    }

    /// `READ` (shared), `WRITE` (exclusive) or `UNLCK` (a lease being broken).
    public struct Access: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let read = Access(rawValue: "READ")
        public static let write = Access(rawValue: "WRITE")
        public var description: String { rawValue }
    }

    public var style: Style
    public var access: Access
    /// `ADVISORY`, or for a lease `ACTIVE`, `BREAKING`, `BREAKER`.
    public var mode: String
    /// The device of the locked file's filesystem, and its inode number.
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    public var inode: UInt64
    /// The first byte locked, and the last (nil: to the end of the file, however
    /// long it grows — "EOF"). flock locks and leases cover the whole file.
    public var start: Int64
    public var end: Int64?
    /// A request waiting for this lock (`->` in /proc/locks), not a lock held.
    public var isWaiting: Bool

    public init(style: Style, access: Access, mode: String, deviceMajor: UInt32, deviceMinor: UInt32, inode: UInt64,
                start: Int64, end: Int64?, isWaiting: Bool) {
        self.style = style
        self.access = access
        self.mode = mode
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.inode = inode
        self.start = start
        self.end = end
        self.isWaiting = isWaiting
    }
}

/// The record locks of the host from /proc/locks (SPEC L2), with the locked
/// file's path found as `lslocks` finds it: among the holder's open descriptors
/// (/proc/PID/fd), the one whose device and inode match. When the holder does not
/// show it (an OFD lock has no holder pid; another user's /proc/PID/fd is not
/// readable), every process's descriptors are searched; the path stays nil when
/// none matches.
///
/// A line reads `1: POSIX  ADVISORY  WRITE 4242 08:01:1234 0 EOF`; a waiting
/// request has `->` after the number; the device is hex `major:minor`.
enum RecordLockInventory {
    static func entries(names: inout UserNames) throws(IPCError) -> [IPCInventory.Entry] {
        var files = ProcessFiles()
        var entries = parse(try InventoryText.read("/proc/locks"))
        for index in entries.indices {
            let details = entries[index].lock!
            let identity = ProcessFiles.FileIdentity(major: details.deviceMajor, minor: details.deviceMinor, inode: details.inode)
            if files.paths[identity] == nil, let holder = entries[index].holderPID { files.add(holder, maps: false) }
            if files.paths[identity] == nil { files.addAll(maps: false) }
            entries[index].path = files.paths[identity]
            if let pid = entries[index].holderPID, let uid = processOwner(pid) {
                entries[index].ownerUID = uid
                entries[index].ownerName = names.name(of: uid)
            }
        }
        return entries
    }

    static func parse(_ text: String) -> [IPCInventory.Entry] {
        var entries: [IPCInventory.Entry] = []
        for var fields in InventoryText.rows(text) {
            guard let first = fields.first, first.hasSuffix(":"), let number = Int32(first.dropLast()) else { continue }
            fields.removeFirst()
            let waiting = fields.first == "->"
            if waiting { fields.removeFirst() }
            guard fields.count >= 7 else { continue }
            let device = fields[4].split(separator: ":")
            guard device.count == 3, let major = UInt32(device[0], radix: 16), let minor = UInt32(device[1], radix: 16),
                  let inode = UInt64(device[2]), let pid = Int32(fields[3]), let start = Int64(fields[5]) else { continue }
            let end: Int64?
            if fields[6] == "EOF" { end = nil } else if let value = Int64(fields[6]) { end = value } else { continue }
            var entry = IPCInventory.Entry(kind: .recordLock)
            entry.id = number
            entry.holderPID = pid > 0 ? pid : nil
            entry.lock = RecordLockDetails(
                style: .init(rawValue: String(fields[0])), access: .init(rawValue: String(fields[2])), mode: String(fields[1]),
                deviceMajor: major, deviceMinor: minor, inode: inode, start: start, end: end, isWaiting: waiting)
            entries.append(entry)
        }
        return entries
    }

    /// The user a process runs as: the owner of /proc/PID.
    private static func processOwner(_ pid: pid_t) -> uid_t? {
        var info = stat()
        return system_fstatat(AT_FDCWD, "/proc/\(pid)", &info, 0) == 0 ? info.st_uid : nil
    }
}
