#if canImport(Glibc)
import Glibc
#endif

/// Who called a door (SPEC R4, Solaris `door_ucred`): the caller's pid and its
/// real and effective user and group ids, from the kernel, never from the caller's
/// word.
///
/// The kernel attaches the pid and real ids to the client's hello
/// (`SCM_CREDENTIALS`; the server's socket has `SO_PASSCRED`, so a client cannot
/// leave them out, and only a privileged one could name another process); the
/// effective ids are read from that process's /proc/PID/status, whose real ids
/// must agree. They are taken when the client opens its session, and are the
/// credentials of every call it makes on it: a process that hands its session's
/// descriptor to another lends it its identity, as with any descriptor.
public struct DoorCredentials: Hashable, Sendable, CustomStringConvertible {
    public var pid: pid_t
    public var realUserID: uid_t
    public var effectiveUserID: uid_t
    public var realGroupID: gid_t
    public var effectiveGroupID: gid_t

    public init(pid: pid_t, realUserID: uid_t, effectiveUserID: uid_t, realGroupID: gid_t, effectiveGroupID: gid_t) {
        self.pid = pid
        self.realUserID = realUserID
        self.effectiveUserID = effectiveUserID
        self.realGroupID = realGroupID
        self.effectiveGroupID = effectiveGroupID
    }

    public var description: String {
        "pid \(pid), uid \(realUserID) (effective \(effectiveUserID)), gid \(realGroupID) (effective \(effectiveGroupID))"
    }

    /// The credentials of the sender of a hello: the kernel's pid and real ids,
    /// completed from /proc/PID/status. Throws `EPERM` when the kernel attached
    /// none or /proc disagrees (the process changed or is gone).
    init(kernelPid pid: pid_t, uid: uid_t, gid: gid_t, object: String?) throws(IPCError) {
        guard pid > 0 else {
            throw IPCError(.notPermitted, operation: "door hello", object: object, detail: "the kernel attached no credentials to the client's hello")
        }
        let status = (try? InventoryText.read("/proc/\(pid)/status")) ?? ""
        var uids: [UInt32] = [], gids: [UInt32] = []
        for line in status.split(separator: "\n") {
            if line.hasPrefix("Uid:") { uids = line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { UInt32($0) } }
            if line.hasPrefix("Gid:") { gids = line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { UInt32($0) } }
        }
        guard uids.count >= 2, gids.count >= 2, uids[0] == uid, gids[0] == gid else {
            throw IPCError(.notPermitted, operation: "door hello", object: object,
                           detail: "the caller's credentials (pid \(pid)) could not be confirmed in /proc: it changed identity or ended")
        }
        self.init(pid: pid, realUserID: uid, effectiveUserID: uids[1], realGroupID: gid, effectiveGroupID: gids[1])
    }
}

/// Who may call a door (SPEC R4): checked against the caller's credentials when it
/// opens its session, before any procedure runs; a refused client gets `EACCES`.
/// The effective ids decide, as for file permissions.
public struct DoorAccessPolicy: Sendable {
    let allows: @Sendable (DoorCredentials) -> Bool
    /// True only for `anyone` (door_info's "restricted" is its opposite).
    let isOpen: Bool

    /// Anyone who can reach the door (the path's permissions still apply).
    public static let anyone = DoorAccessPolicy(allows: { _ in true }, isOpen: true)

    /// Only callers whose effective user id is one of `ids`.
    public static func users(_ ids: Set<uid_t>) -> DoorAccessPolicy {
        DoorAccessPolicy(allows: { ids.contains($0.effectiveUserID) })
    }

    /// Only callers whose effective group id is one of `ids`.
    public static func groups(_ ids: Set<gid_t>) -> DoorAccessPolicy {
        DoorAccessPolicy(allows: { ids.contains($0.effectiveGroupID) })
    }

    /// Callers `decide` allows; it runs on the connection's thread and should be quick.
    public static func custom(_ decide: @escaping @Sendable (DoorCredentials) -> Bool) -> DoorAccessPolicy {
        DoorAccessPolicy(allows: decide)
    }

    init(allows: @escaping @Sendable (DoorCredentials) -> Bool, isOpen: Bool = false) {
        self.allows = allows
        self.isOpen = isOpen
    }
}
