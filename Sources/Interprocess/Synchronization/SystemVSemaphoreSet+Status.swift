#if canImport(Glibc)
import Glibc
#endif

extension SystemVSemaphoreSet {
    /// What `IPC_STAT` reports about a System V semaphore set (SPEC Y3, V2): the
    /// `struct semid_ds`.
    public struct Status: Hashable, Sendable {
        /// Owner, creator, mode, key and slot sequence number.
        public var permissions: SystemVPermissions
        /// The number of members (`sem_nsems`).
        public var count: Int
        /// When an operation (`semop`) last succeeded on the set, in seconds since
        /// the Epoch (`sem_otime`); nil if none has since it was created. The
        /// library's creators perform one to mark the set initialised, so nil means
        /// a creator that has not (yet) initialised it.
        public var lastOperationTime: Int?
        /// When the set was created or last changed by `IPC_SET`, `SETVAL` or
        /// `SETALL`, in seconds since the Epoch (`sem_ctime`).
        public var changeTime: Int

        public init(permissions: SystemVPermissions, count: Int, lastOperationTime: Int?, changeTime: Int) {
            self.permissions = permissions
            self.count = count
            self.lastOperationTime = lastOperationTime
            self.changeTime = changeTime
        }

        init(_ info: semid_ds) {
            self.init(permissions: SystemVPermissions(info.sem_perm), count: Int(info.sem_nsems),
                      lastOperationTime: info.sem_otime == 0 ? nil : Int(info.sem_otime),
                      changeTime: Int(info.sem_ctime))
        }
    }
}
