/// The kinds of IPC object the host-wide inventory lists (SPEC L2).
extension IPCInventory {
    public enum Kind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// A System V message queue (`msgget`), from /proc/sysvipc/msg.
        case systemVQueue = "msg"
        /// A System V semaphore set (`semget`), from /proc/sysvipc/sem.
        case systemVSemaphoreSet = "sem"
        /// A System V shared memory segment (`shmget`), from /proc/sysvipc/shm.
        case systemVSharedMemory = "shm"
        /// A POSIX message queue (`mq_open`), a file of the mqueue filesystem.
        case posixQueue = "mq"
        /// A POSIX shared memory object (`shm_open`), a file in /dev/shm.
        case posixSharedMemory = "pshm"
        /// A POSIX named semaphore (`sem_open`), the file /dev/shm/sem.NAME.
        case posixSemaphore = "psem"
        /// A record lock (`fcntl` F_SETLK, `flock`, open file description locks,
        /// leases), from /proc/locks.
        case recordLock = "lock"
        /// A door (SPEC R6) being served, found by the statistics memfd its
        /// server keeps open (/proc/PID/fd); it cannot be removed, it goes with
        /// its server (`Door.close()`) or the server's end.
        case door = "door"

        /// The short name `ipc ls --kind` and `ipc rm` use: msg, sem, shm, mq,
        /// pshm, psem, lock, door.
        public var description: String { rawValue }

        /// The System V kind, for the three System V kinds.
        public var systemVKind: SystemVKind? {
            switch self {
            case .systemVQueue: .messageQueue
            case .systemVSemaphoreSet: .semaphoreSet
            case .systemVSharedMemory: .sharedMemory
            default: nil
            }
        }

        public init(_ kind: SystemVKind) {
            switch kind {
            case .messageQueue: self = .systemVQueue
            case .semaphoreSet: self = .systemVSemaphoreSet
            case .sharedMemory: self = .systemVSharedMemory
            }
        }

        /// Whether objects of this kind are named by a POSIX IPC name ("/orders").
        public var isPosix: Bool { self == .posixQueue || self == .posixSharedMemory || self == .posixSemaphore }
    }
}
