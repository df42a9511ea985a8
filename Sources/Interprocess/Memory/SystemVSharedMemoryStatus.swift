#if canImport(Glibc)
import Glibc
#endif

extension SystemVSharedMemory {
    /// What the kernel keeps about a segment: its `struct shmid_ds` (SPEC H4).
    ///
    /// Times are seconds since 1970-01-01 UTC; nil when the event never happened.
    public struct Status: Hashable, Sendable {
        /// Owner, creator, mode, key (`IPC_PRIVATE` once marked for removal) and
        /// slot sequence number.
        public var permissions: SystemVPermissions
        /// The size in bytes, fixed at creation (`shm_segsz`).
        public var size: Int
        /// How many attachments exist, in every process (`shm_nattch`).
        public var attachCount: Int
        /// The process that created the segment (`shm_cpid`).
        public var creatorPID: pid_t
        /// The last process that attached or detached it (`shm_lpid`); a process
        /// that exits attached counts, as its attachment ends at exit.
        public var lastOperationPID: pid_t
        /// The last attach (`shm_atime`).
        public var attachTime: Int?
        /// The last detach (`shm_dtime`).
        public var detachTime: Int?
        /// The last change: creation, `IPC_SET` or `IPC_RMID` (`shm_ctime`).
        public var changeTime: Int
        /// Removed while attached: the segment disappears at the last detach
        /// (`SHM_DEST` in the mode).
        public var isMarkedForRemoval: Bool
        /// Locked in memory with `SHM_LOCK` (`SHM_LOCKED` in the mode).
        public var isLocked: Bool

        init(_ info: shmid_ds) {
            permissions = SystemVPermissions(info.shm_perm)
            size = Int(info.shm_segsz)
            attachCount = Int(info.shm_nattch)
            creatorPID = info.shm_cpid
            lastOperationPID = info.shm_lpid
            attachTime = info.shm_atime == 0 ? nil : Int(info.shm_atime)
            detachTime = info.shm_dtime == 0 ? nil : Int(info.shm_dtime)
            changeTime = Int(info.shm_ctime)
            let mode = CInt(info.shm_perm.mode)
            isMarkedForRemoval = mode & SHM_DEST != 0
            isLocked = mode & SHM_LOCKED != 0
        }
    }

    /// The segment's status. `EINVAL` once it is gone, `EACCES` without read
    /// permission.
    ///
    /// The corresponding C function is `shmctl` with `IPC_STAT`.
    public func status() throws(IPCError) -> Status {
        var info = shmid_ds()
        if system_shmctl(id, IPC_STAT, &info) != 0 {
            throw IPCError.last("shmctl(IPC_STAT)", object: SystemVKind.describe(id: id))
        }
        return Status(info)
    }
}
