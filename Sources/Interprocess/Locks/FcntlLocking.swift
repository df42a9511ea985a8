import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The fcntl calls behind `RecordLock` (F_SETLK, F_SETLKW, F_GETLK) and
/// `OpenFileLock` (F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK), SPEC Y8. The two
/// differ only in the commands and in who owns the lock; an OFD request must have
/// `l_pid` 0, which `request` always sets.
struct FcntlLocking: Sendable {
    struct Commands: Sendable {
        var set: CInt, setWait: CInt, get: CInt
        var names: (set: String, setWait: String, get: String)

        static let posix = Commands(set: F_SETLK, setWait: F_SETLKW, get: F_GETLK,
                                    names: ("fcntl(F_SETLK)", "fcntl(F_SETLKW)", "fcntl(F_GETLK)"))
        static let openFileDescription = Commands(
            set: CInt(CIPC_F_OFD_SETLK), setWait: CInt(CIPC_F_OFD_SETLKW), get: CInt(CIPC_F_OFD_GETLK),
            names: ("fcntl(F_OFD_SETLK)", "fcntl(F_OFD_SETLKW)", "fcntl(F_OFD_GETLK)"))
    }

    let fd: CInt
    /// The file as errors name it: its path, or "fd N".
    let object: String
    let commands: Commands

    static func request(_ type: CInt, _ range: LockRange) -> cipc_flock {
        var lock = cipc_flock()
        lock.l_type = Int16(type)
        lock.l_whence = range.whence
        lock.l_start = off_t(range.start)
        lock.l_len = off_t(range.length)
        lock.l_pid = 0
        return lock
    }

    static func type(_ access: LockAccess) -> CInt { access == .shared ? F_RDLCK : F_WRLCK }

    func waiting(_ access: LockAccess, _ range: LockRange) -> LockWaiting {
        let locking = self
        return LockWaiting(
            attempt: { wait in locking.attempt(access, range, wait: wait) },
            timedOut: {
                IPCError(.timedOut, operation: locking.commands.names.setWait, object: locking.object,
                         detail: "the \(access) lock on \(range) was not granted before the deadline")
            })
    }

    /// One F_SETLK(W): true when taken, false when another lock conflicts (EAGAIN
    /// or EACCES, both allowed by POSIX), nil after EINTR.
    func attempt(_ access: LockAccess, _ range: LockRange, wait: Bool) -> Result<Bool, IPCError>? {
        var lock = Self.request(Self.type(access), range)
        if system_fcntl_lock(fd, wait ? commands.setWait : commands.set, &lock) == 0 { return .success(true) }
        let code = lastErrno
        if code == EINTR { return nil }
        if !wait, code == EAGAIN || code == EACCES { return .success(false) }
        let name = wait ? commands.names.setWait : commands.names.set
        let detail = code == EDEADLK
            ? "waiting for the \(access) lock on \(range) would deadlock: a process holding it is itself waiting for a lock this process holds"
            : code == EBADF
            ? "the \(access) lock on \(range) needs the file open for \(access == .shared ? "reading" : "writing")"
            : "the \(access) lock on \(range)"
        return .failure(IPCError(Errno(rawValue: code), operation: name, object: object, detail: detail))
    }

    func unlock(_ range: LockRange) throws(IPCError) {
        var lock = Self.request(F_UNLCK, range)
        if retryingInterrupts({ system_fcntl_lock(fd, commands.set, &lock) }) != 0 {
            throw IPCError.last(commands.names.set, object: object, detail: "unlocking \(range)")
        }
    }

    /// F_GETLK: the first lock that would stand in the way of `access` on `range`,
    /// or nil when it could be taken now. The caller's own locks never conflict.
    func conflict(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> LockConflict? {
        var lock = Self.request(Self.type(access), range)
        if system_fcntl_lock(fd, commands.get, &lock) != 0 {
            throw IPCError.last(commands.names.get, object: object, detail: "asking about the \(access) lock on \(range)")
        }
        if CInt(lock.l_type) == F_UNLCK { return nil }
        let holder: LockConflict.Holder = lock.l_pid > 0 ? .process(lock.l_pid) : .openFileDescription
        return LockConflict(access: CInt(lock.l_type) == F_RDLCK ? .shared : .exclusive,
                            range: LockRange(start: Int64(lock.l_start), length: Int64(lock.l_len)), holder: holder)
    }
}
