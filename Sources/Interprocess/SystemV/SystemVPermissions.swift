import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Who owns a System V object and who may use it: the `struct ipc_perm` every
/// kind carries (SPEC V2).
///
/// The creator's ids (`creatorUID`, `creatorGID`) are fixed; the owner's ids and
/// the mode can be changed with `SystemVObject.changePermissions` by the owner,
/// the creator or a privileged process. The mode's read and write bits are
/// enforced on every operation (`EACCES`); execute bits mean nothing.
public struct SystemVPermissions: Hashable, Sendable {
    /// The key the object was created with (`.private` for `IPC_PRIVATE`).
    public var key: IPCKey
    /// The owner's user id (`uid`).
    public var uid: uid_t
    /// The owner's group id (`gid`).
    public var gid: gid_t
    /// The creator's user id (`cuid`).
    public var creatorUID: uid_t
    /// The creator's group id (`cgid`).
    public var creatorGID: gid_t
    /// Read and write bits for owner, group and others.
    public var mode: FilePermissions
    /// The slot sequence number (`__seq`): the kernel increments it each time the
    /// slot is reused, and builds identifiers from it, so an identifier of a
    /// removed object does not name its successor in the same slot. On Linux an
    /// identifier is `sequence * 32768 + slot`.
    public var sequence: UInt16

    public init(key: IPCKey, uid: uid_t, gid: gid_t, creatorUID: uid_t, creatorGID: gid_t, mode: FilePermissions, sequence: UInt16) {
        self.key = key
        self.uid = uid
        self.gid = gid
        self.creatorUID = creatorUID
        self.creatorGID = creatorGID
        self.mode = mode
        self.sequence = sequence
    }

    init(_ perm: ipc_perm) {
        self.init(key: IPCKey(rawValue: perm.__key), uid: perm.uid, gid: perm.gid,
                  creatorUID: perm.cuid, creatorGID: perm.cgid,
                  mode: FilePermissions(rawValue: CModeT(perm.mode) & 0o777),
                  sequence: perm.__seq)
    }
}
