import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The System V objects of this IPC namespace, from /proc/sysvipc/msg, sem and shm
/// (SPEC L2, V3) — what `ipcs` reads.
///
/// Each file starts with a line of column names; rows are read by those names, so
/// columns a newer kernel adds or reorders change nothing. The key is printed in
/// decimal (signed), the permissions in octal (with `SHM_DEST`, 01000, set on a
/// segment removed while attached), times in seconds since the epoch.
enum SystemVInventory {
    static func entries(_ kind: SystemVKind, names: inout UserNames) throws(IPCError) -> [IPCInventory.Entry] {
        try parse(InventoryText.read(kind.procFile), kind: kind, names: &names)
    }

    static func parse(_ text: String, kind: SystemVKind, names: inout UserNames) throws(IPCError) -> [IPCInventory.Entry] {
        var rows = InventoryText.rows(text)
        guard !rows.isEmpty else { return [] }
        let header = rows.removeFirst()
        var column: [Substring: Int] = [:]
        for (index, name) in header.enumerated() { column[name] = index }
        let idColumn: Substring = kind == .messageQueue ? "msqid" : kind == .semaphoreSet ? "semid" : "shmid"
        for required in ["key", idColumn, "perms", "uid", "gid", "cuid", "cgid"] as [Substring] where column[required] == nil {
            throw IPCError(.invalidArgument, operation: "read", object: IPCError.describe(path: kind.procFile),
                           detail: "no \"\(required)\" column in the header \"\(header.joined(separator: " "))\"")
        }
        var entries: [IPCInventory.Entry] = []
        for row in rows {
            func field(_ name: Substring) -> Substring? {
                guard let index = column[name], index < row.count else { return nil }
                return row[index]
            }
            func number(_ name: Substring) -> Int64? { field(name).flatMap { Int64($0) } }
            guard let key = number("key").flatMap({ key_t(exactly: $0) }), let id = number(idColumn).flatMap({ Int32(exactly: $0) }),
                  let perms = field("perms").flatMap({ UInt32($0, radix: 8) }),
                  let uid = number("uid"), let gid = number("gid"), let cuid = number("cuid"), let cgid = number("cgid")
            else { continue }
            var entry = IPCInventory.Entry(kind: IPCInventory.Kind(kind))
            entry.key = IPCKey(rawValue: key)
            entry.id = id
            entry.ownerUID = uid_t(truncatingIfNeeded: uid)
            entry.ownerName = names.name(of: uid_t(truncatingIfNeeded: uid))
            entry.ownerGID = gid_t(truncatingIfNeeded: gid)
            entry.creatorUID = uid_t(truncatingIfNeeded: cuid)
            entry.creatorGID = gid_t(truncatingIfNeeded: cgid)
            entry.mode = FilePermissions(rawValue: CModeT(perms & 0o777))
            entry.changeTime = number("ctime")
            switch kind {
            case .messageQueue:
                entry.bytes = number("cbytes").map { Int($0) }
                entry.count = number("qnum").map { Int($0) }
                entry.lastPID = number("lspid").map { pid_t(truncatingIfNeeded: $0) }
                entry.lastUseTime = number("stime")
            case .semaphoreSet:
                entry.count = number("nsems").map { Int($0) }
                entry.lastUseTime = number("otime")
            case .sharedMemory:
                entry.bytes = number("size").map { Int($0) }
                entry.users = number("nattch").map { Int($0) }
                entry.creatorPID = number("cpid").map { pid_t(truncatingIfNeeded: $0) }
                entry.lastPID = number("lpid").map { pid_t(truncatingIfNeeded: $0) }
                entry.lastUseTime = number("atime")
                entry.isMarkedForRemoval = perms & 0o1000 != 0
            }
            entries.append(entry)
        }
        return entries
    }
}
