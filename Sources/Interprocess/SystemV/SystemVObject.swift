import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What every System V object shares (SPEC V1–V3): an identifier in its kind's
/// table, permissions read with `IPC_STAT` and changed with `IPC_SET`, and
/// explicit removal with `IPC_RMID`. `SystemVMessageQueue`,
/// `SystemVSemaphoreSet` and `SystemVSharedMemory` get these from one
/// implementation.
///
/// Persistence (SPEC V3, L3): a System V object belongs to the kernel, not to a
/// process. It stays, with its contents, after every process that used it has
/// exited, until it is removed (`remove()`, `ipc rm`, `ipcrm`) or the system
/// restarts. So these types hold only an identifier (there is nothing to close)
/// and are freely copyable; removing is always an explicit call.
public protocol SystemVObject: Sendable {
    /// The kind of object, which names the identifier table.
    static var kind: SystemVKind { get }
    /// The identifier the kernel returned from `msgget`/`semget`/`shmget`. Any
    /// process with the permission may use it, without knowing the key.
    var id: Int32 { get }
}

extension SystemVObject {
    /// The object's owner, creator, mode, key and slot sequence number.
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_STAT`.
    public func permissions() throws(IPCError) -> SystemVPermissions {
        try Self.kind.permissions(id: id)
    }

    /// Changes the owner's ids and the mode; what is nil stays as it is. Allowed
    /// to the owner, the creator and privileged processes (`EPERM` otherwise).
    /// The owner and the creator may do this without read permission, except on
    /// a queue (`EACCES`): see `SystemVKind.changePermissions(id:uid:gid:mode:)`.
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_SET`.
    public func changePermissions(uid: uid_t? = nil, gid: gid_t? = nil, mode: FilePermissions? = nil) throws(IPCError) {
        try Self.kind.changePermissions(id: id, uid: uid, gid: gid, mode: mode)
    }

    /// Removes the object now (`IPC_RMID`). Processes blocked on a queue or
    /// semaphore set wake with `EIDRM`; a shared memory segment goes away when
    /// the last process detaches it. Allowed to the owner, the creator and
    /// privileged processes (`EPERM` otherwise).
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_RMID`.
    public func remove() throws(IPCError) {
        try Self.kind.remove(id: id)
    }
}

/// How a `get` treats an existing object with the key: the meaning of
/// `IPC_CREAT` and `IPC_EXCL` (SPEC V1).
enum SystemVCreation: Sendable {
    /// `IPC_CREAT | IPC_EXCL`: a new object; `EEXIST` if the key is taken.
    case create
    /// No flag: an existing object; `ENOENT` if there is none.
    case open
    /// `IPC_CREAT`: the existing object, or a new one.
    case openOrCreate

    var flags: CInt {
        switch self {
        case .create: IPC_CREAT | IPC_EXCL
        case .open: 0
        case .openOrCreate: IPC_CREAT
        }
    }
}

extension SystemVKind {
    /// The object with `key` (creating it as `creation` says) and returns its
    /// identifier. `count` is the number of semaphores or the segment's size in
    /// bytes, and is ignored for queues.
    ///
    /// The corresponding C function is `msgget`, `semget` or `shmget`.
    func get(key: IPCKey, creation: SystemVCreation, permissions: FilePermissions, count: Int = 0) throws(IPCError) -> Int32 {
        let object = Self.describe(key: key)
        if key.isPrivate && creation == .open {
            throw IPCError(.invalidArgument, operation: getFunction, object: object,
                           detail: "a private object cannot be opened by key; use its identifier")
        }
        guard count >= 0, self == .sharedMemory || count <= CInt.max else {
            throw IPCError(.invalidArgument, operation: getFunction, object: object, detail: "\(count) is out of range")
        }
        let flags = creation.flags | CInt(permissions.rawValue & 0o777)
        let id: CInt
        switch self {
        case .messageQueue: id = system_msgget(key.rawValue, flags)
        case .semaphoreSet: id = system_semget(key.rawValue, CInt(count), flags)
        case .sharedMemory: id = system_shmget(key.rawValue, count, flags)
        }
        if id == -1 { throw IPCError.last(getFunction, object: object) }
        return id
    }

    /// The identifier of the existing object with `key`; `ENOENT` if there is none.
    ///
    /// The corresponding C function is `msgget`, `semget` or `shmget`.
    public func identifier(for key: IPCKey) throws(IPCError) -> Int32 {
        try get(key: key, creation: .open, permissions: [])
    }

    /// The permissions of the object with identifier `id`. `EINVAL` if there is
    /// no such object, `EACCES` without read permission.
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_STAT`.
    public func permissions(id: Int32) throws(IPCError) -> SystemVPermissions {
        var result: SystemVPermissions?
        try withStatus(id: id) { perm in result = SystemVPermissions(perm) }
        return result!
    }

    /// Changes the owner's ids and the mode of the object with identifier `id`;
    /// what is nil stays as it is. Allowed to the owner, the creator and
    /// privileged processes (`EPERM` otherwise), even without read permission —
    /// except on a queue, whose `IPC_SET` writes back a `msg_qbytes` only a
    /// reader can know (`EACCES`).
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_SET`.
    public func changePermissions(id: Int32, uid: uid_t? = nil, gid: gid_t? = nil, mode: FilePermissions? = nil) throws(IPCError) {
        try withStatus(id: id, writingBack: true) { perm in
            if let uid { perm.uid = uid }
            if let gid { perm.gid = gid }
            if let mode { perm.mode = (perm.mode & ~0o777) | mode_t(mode.rawValue & 0o777) }
        }
    }

    /// Removes the object with identifier `id` (`IPC_RMID`). `EINVAL` if there is
    /// no such object, `EPERM` if this process may not remove it.
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_RMID`.
    public func remove(id: Int32) throws(IPCError) {
        let rc: CInt
        switch self {
        case .messageQueue: rc = system_msgctl(id, IPC_RMID, nil)
        case .semaphoreSet: rc = system_semctl(id, 0, IPC_RMID)
        case .sharedMemory: rc = system_shmctl(id, IPC_RMID, nil)
        }
        if rc != 0 { throw IPCError.last(controlFunction + "(IPC_RMID)", object: Self.describe(id: id)) }
    }

    /// Reads the object's status with `IPC_STAT`, lets `change` edit its
    /// `ipc_perm`, then, if `writingBack`, writes the whole status back with
    /// `IPC_SET` (so a queue's `msg_qbytes` stays as it was).
    ///
    /// The kernel lets the owner and the creator change an object they may not
    /// read. For a semaphore set or a segment, whose `IPC_SET` takes only the
    /// owner's ids and the mode, those then come from /proc/sysvipc, which lists
    /// every object to everyone. A queue's `IPC_SET` also writes `msg_qbytes`,
    /// which only `IPC_STAT` reports, so a queue must be readable to be changed.
    private func withStatus(id: Int32, writingBack: Bool = false, _ change: (inout ipc_perm) -> Void) throws(IPCError) {
        let object = Self.describe(id: id)
        let stat = controlFunction + "(IPC_STAT)"
        var rc: CInt = 0
        switch self {
        case .messageQueue:
            var info = msqid_ds()
            if system_msgctl(id, IPC_STAT, &info) != 0 {
                var error = IPCError.last(stat, object: object)
                if writingBack && error.errno == .permissionDenied {
                    error.detail = "changing a queue's permissions needs read permission: its msg_qbytes is read and written back"
                }
                throw error
            }
            change(&info.msg_perm)
            if writingBack { rc = system_msgctl(id, IPC_SET, &info) }
            if rc != 0 && lastErrno == EPERM && Int(info.msg_qbytes) > SystemVMessageLimits.defaultMaximumQueueBytes {
                throw IPCError(.notPermitted, operation: controlFunction + "(IPC_SET)", object: object,
                               detail: "the queue's msg_qbytes (\(info.msg_qbytes)) is above kernel.msgmnb, which only a process with CAP_SYS_RESOURCE may write back")
            }
        case .semaphoreSet:
            var info = semid_ds()
            if system_semctl_ds(id, IPC_STAT, &info) != 0 {
                let error = IPCError.last(stat, object: object)
                guard writingBack, let listed = listedPermissions(id: id, after: error) else { throw error }
                info.sem_perm = listed
            }
            change(&info.sem_perm)
            if writingBack { rc = system_semctl_ds(id, IPC_SET, &info) }
        case .sharedMemory:
            var info = shmid_ds()
            if system_shmctl(id, IPC_STAT, &info) != 0 {
                let error = IPCError.last(stat, object: object)
                guard writingBack, let listed = listedPermissions(id: id, after: error) else { throw error }
                info.shm_perm = listed
            }
            change(&info.shm_perm)
            if writingBack { rc = system_shmctl(id, IPC_SET, &info) }
        }
        if rc != 0 { throw IPCError.last(controlFunction + "(IPC_SET)", object: object) }
    }

    /// The owner's ids and mode of object `id` as /proc/sysvipc lists them, when
    /// `IPC_STAT` was denied (`EACCES`); nil otherwise or when it is not listed.
    private func listedPermissions(id: Int32, after error: IPCError) -> ipc_perm? {
        guard error.errno == .permissionDenied else { return nil }
        var names = UserNames()
        guard let entries = try? SystemVInventory.entries(self, names: &names),
              let entry = entries.first(where: { $0.id == id }),
              let uid = entry.ownerUID, let gid = entry.ownerGID, let mode = entry.mode else { return nil }
        var perm = ipc_perm()
        perm.uid = uid
        perm.gid = gid
        perm.mode = mode_t(mode.rawValue)
        return perm
    }

    /// How errors name an object: `key 0x00001234`, `IPC_PRIVATE`.
    static func describe(key: IPCKey) -> String {
        key.isPrivate ? "IPC_PRIVATE" : "key \(key)"
    }

    /// How errors name an object: `id 32768`.
    static func describe(id: Int32) -> String { "id \(id)" }
}
