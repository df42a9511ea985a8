import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A door as `ipc ls` lists it (SPEC R6, L2): what its server publishes in its
/// statistics memfd (`DoorStatistics`), read without calling the door.
public struct DoorListing: Hashable, Sendable {
    /// The server process.
    public var serverPid: pid_t
    /// The door's number among its server's doors (`DoorInfo.identifier`).
    public var identifier: UInt64
    /// The procedure's name, given at creation.
    public var procedure: String
    /// Clients connected now.
    public var clients: Int
    /// Calls completed so far.
    public var callsServed: UInt64
    /// Revoked: every call fails with `EBADF`.
    public var isRevoked: Bool

    public init(serverPid: pid_t, identifier: UInt64, procedure: String, clients: Int, callsServed: UInt64, isRevoked: Bool) {
        self.serverPid = serverPid
        self.identifier = identifier
        self.procedure = procedure
        self.clients = clients
        self.callsServed = callsServed
        self.isRevoked = isRevoked
    }
}

/// The doors of the host (SPEC R6): every process's descriptors (/proc/PID/fd)
/// are searched for a memfd named `ipc-door:ID`, which is read through
/// /proc/PID/fd/N (`pread`) and kept only when it is a valid `DoorStatistics`
/// (anyone can make a memfd with that name). One entry per door: a memfd
/// inherited by another process is listed once. Processes whose descriptors this
/// one may not read (another user's, without privilege) are skipped.
enum DoorInventory {
    static let linkPrefix = Array("/memfd:\(DoorStatistics.namePrefix)".utf8)
    static let linkSuffix = Array(" (deleted)".utf8)

    static func entries(names: inout UserNames) -> [IPCInventory.Entry] {
        var entries: [IPCInventory.Entry] = []
        var seen = Set<[UInt64]>()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: DoorStatistics.size, alignment: 8)
        defer { buffer.deallocate() }
        for name in (try? directoryEntries("/proc")) ?? [] {
            guard let pid = pid_t(name), pid > 0, let descriptors = try? directoryEntries("/proc/\(pid)/fd") else { continue }
            for fd in descriptors {
                let link = "/proc/\(pid)/fd/\(fd)"
                guard let target = linkTarget(link), target.starts(with: linkPrefix), target.reversed().starts(with: linkSuffix.reversed()),
                      let snapshot = read(link, into: buffer),
                      seen.insert([UInt64(UInt32(bitPattern: snapshot.pid)), snapshot.identifier]).inserted else { continue }
                var entry = IPCInventory.Entry(kind: .door)
                entry.path = snapshot.path.isEmpty ? nil : Array(snapshot.path.utf8)
                entry.id = Int32(clamping: snapshot.identifier)
                entry.creatorPID = snapshot.pid
                entry.users = Int(clamping: snapshot.clients)
                entry.count = Int(clamping: snapshot.calls)
                entry.door = DoorListing(serverPid: snapshot.pid, identifier: snapshot.identifier, procedure: snapshot.procedure,
                                         clients: Int(clamping: snapshot.clients), callsServed: snapshot.calls, isRevoked: snapshot.isRevoked)
                var info = stat()
                if system_fstatat(AT_FDCWD, "/proc/\(snapshot.pid)", &info, 0) == 0 {
                    entry.ownerUID = info.st_uid
                    entry.ownerGID = info.st_gid
                    entry.ownerName = names.name(of: info.st_uid)
                }
                if let path = entry.path, system_fstatat(AT_FDCWD, String(decoding: path, as: UTF8.self), &info, AT_SYMLINK_NOFOLLOW) == 0 {
                    entry.mode = FilePermissions(rawValue: info.st_mode & 0o777)
                    entry.changeTime = Int64(info.st_ctim.tv_sec)
                }
                entries.append(entry)
            }
        }
        entries.sort { ($0.creatorPID ?? 0, $0.door?.identifier ?? 0) < ($1.creatorPID ?? 0, $1.door?.identifier ?? 0) }
        return entries
    }

    /// The statistics behind the memfd link `path`, or nil when it is none.
    ///
    /// The corresponding C functions are `open` and `pread`.
    private static func read(_ path: String, into buffer: UnsafeMutableRawBufferPointer) -> DoorStatistics.Snapshot? {
        let fd = system_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0)
        guard fd >= 0 else { return nil }
        defer { _ = system_close(fd) }
        var done = 0
        while done < buffer.count {
            let n = system_pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(done))
            if n < 0 && lastErrno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return DoorStatistics.Snapshot(UnsafeRawBufferPointer(rebasing: buffer[..<done]))
    }
}
