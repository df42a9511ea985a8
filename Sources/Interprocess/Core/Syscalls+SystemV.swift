import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for the System V IPC calls (see Syscalls.swift for the pattern): one
// per C function, the raw result returned and `errno` left set. msgsnd, msgrcv,
// semop and semtimedop are never restarted after a signal handler (signal(7)),
// whatever SA_RESTART says: callers see EINTR and decide.

// MARK: keys

func system_ftok(_ path: UnsafePointer<CChar>, _ projectID: CInt) -> key_t {
    if injected("ftok") { return -1 }
    return ftok(path, projectID)
}

// MARK: message queues

func system_msgget(_ key: key_t, _ flags: CInt) -> CInt {
    if injected("msgget") { return -1 }
    return msgget(key, flags)
}

/// `message` points at a `long` type followed by the text (`struct msgbuf`).
@inline(__always)
func system_msgsnd(_ id: CInt, _ message: UnsafeRawPointer, _ textCount: Int, _ flags: CInt) -> CInt {
    if injected("msgsnd") { return -1 }
    return msgsnd(id, message, textCount, flags)
}

@inline(__always)
func system_msgrcv(_ id: CInt, _ message: UnsafeMutableRawPointer, _ textCapacity: Int, _ type: Int, _ flags: CInt) -> Int {
    if injected("msgrcv") { return -1 }
    return msgrcv(id, message, textCapacity, type, flags)
}

func system_msgctl(_ id: CInt, _ command: CInt, _ info: UnsafeMutablePointer<msqid_ds>?) -> CInt {
    if injected("msgctl") { return -1 }
    return msgctl(id, command, info)
}

// MARK: semaphore sets

func system_semget(_ key: key_t, _ count: CInt, _ flags: CInt) -> CInt {
    if injected("semget") { return -1 }
    return semget(key, count, flags)
}

@inline(__always)
func system_semop(_ id: CInt, _ operations: UnsafeMutablePointer<sembuf>, _ count: Int) -> CInt {
    if injected("semop") { return -1 }
    return semop(id, operations, count)
}

/// `timeout` is relative (a duration), as semtimedop takes it.
func system_semtimedop(_ id: CInt, _ operations: UnsafeMutablePointer<sembuf>, _ count: Int, _ timeout: UnsafePointer<timespec>?) -> CInt {
    if injected("semtimedop") { return -1 }
    return cipc_semtimedop(id, operations, count, timeout)
}

/// GETVAL, GETPID, GETNCNT, GETZCNT, IPC_RMID.
func system_semctl(_ id: CInt, _ member: CInt, _ command: CInt) -> CInt {
    if injected("semctl") { return -1 }
    return cipc_semctl(id, member, command)
}

func system_semctl_setval(_ id: CInt, _ member: CInt, _ value: CInt) -> CInt {
    if injected("semctl") { return -1 }
    return cipc_semctl_setval(id, member, value)
}

/// GETALL, SETALL.
func system_semctl_array(_ id: CInt, _ command: CInt, _ values: UnsafeMutablePointer<UInt16>) -> CInt {
    if injected("semctl") { return -1 }
    return cipc_semctl_array(id, command, values)
}

/// IPC_STAT, IPC_SET.
func system_semctl_ds(_ id: CInt, _ command: CInt, _ info: UnsafeMutablePointer<semid_ds>) -> CInt {
    if injected("semctl") { return -1 }
    return cipc_semctl_ds(id, command, info)
}

// MARK: shared memory

func system_shmget(_ key: key_t, _ size: Int, _ flags: CInt) -> CInt {
    if injected("shmget") { return -1 }
    return shmget(key, size, flags)
}

func system_shmat(_ id: CInt, _ address: UnsafeRawPointer?, _ flags: CInt) -> UnsafeMutableRawPointer? {
    if injected("shmat") { return UnsafeMutableRawPointer(bitPattern: -1) }
    return shmat(id, address, flags)
}

func system_shmdt(_ address: UnsafeRawPointer) -> CInt {
    if injected("shmdt") { return -1 }
    return shmdt(address)
}

func system_shmctl(_ id: CInt, _ command: CInt, _ info: UnsafeMutablePointer<shmid_ds>?) -> CInt {
    if injected("shmctl") { return -1 }
    return shmctl(id, command, info)
}
