/// The three kinds of System V IPC object (SPEC V1–V3). Each kind has its own
/// table of identifiers in the kernel, so an identifier means something only
/// together with its kind.
public enum SystemVKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A message queue (`msgget`), `SystemVMessageQueue`.
    case messageQueue = "msg"
    /// A semaphore set (`semget`), `SystemVSemaphoreSet`.
    case semaphoreSet = "sem"
    /// A shared memory segment (`shmget`), `SystemVSharedMemory`.
    case sharedMemory = "shm"

    /// The kind's short name, as `ipcs`, `ipcrm` and `ipc rm` use it: msg, sem, shm.
    public var description: String { rawValue }

    /// The C functions of this kind, for error messages.
    var getFunction: String { rawValue + "get" }
    var controlFunction: String { rawValue + "ctl" }

    /// The file in /proc/sysvipc that lists every object of this kind.
    var procFile: String {
        switch self {
        case .messageQueue: "/proc/sysvipc/msg"
        case .semaphoreSet: "/proc/sysvipc/sem"
        case .sharedMemory: "/proc/sysvipc/shm"
        }
    }
}
