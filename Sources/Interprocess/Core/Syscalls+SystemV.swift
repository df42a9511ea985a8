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
    adapter("ftok", failure: -1) { ftok(path, projectID) }
}

// MARK: message queues

func system_msgget(_ key: key_t, _ flags: CInt) -> CInt {
    adapter("msgget", on: Int(key), failure: -1) { msgget(key, flags) }
}

/// `message` points at a `long` type followed by the text (`struct msgbuf`).
@inline(__always)
func system_msgsnd(_ id: CInt, _ message: UnsafeRawPointer, _ textCount: Int, _ flags: CInt) -> CInt {
    adapter("msgsnd", on: Int(id), failure: -1) { msgsnd(id, message, textCount, flags) }
}

@inline(__always)
func system_msgrcv(_ id: CInt, _ message: UnsafeMutableRawPointer, _ textCapacity: Int, _ type: Int, _ flags: CInt) -> Int {
    adapter("msgrcv", on: Int(id), failure: -1) { msgrcv(id, message, textCapacity, type, flags) }
}

func system_msgctl(_ id: CInt, _ command: CInt, _ info: UnsafeMutablePointer<msqid_ds>?) -> CInt {
    adapter("msgctl", on: Int(id), failure: -1) { msgctl(id, command, info) }
}

// MARK: semaphore sets

func system_semget(_ key: key_t, _ count: CInt, _ flags: CInt) -> CInt {
    adapter("semget", on: Int(key), failure: -1) { semget(key, count, flags) }
}

@inline(__always)
func system_semop(_ id: CInt, _ operations: UnsafeMutablePointer<sembuf>, _ count: Int) -> CInt {
    adapter("semop", on: Int(id), failure: -1) { semop(id, operations, count) }
}

/// `timeout` is relative (a duration), as semtimedop takes it.
func system_semtimedop(_ id: CInt, _ operations: UnsafeMutablePointer<sembuf>, _ count: Int, _ timeout: UnsafePointer<timespec>?) -> CInt {
    adapter("semtimedop", on: Int(id), failure: -1) { cipc_semtimedop(id, operations, count, timeout) }
}

/// GETVAL, GETPID, GETNCNT, GETZCNT, IPC_RMID.
func system_semctl(_ id: CInt, _ member: CInt, _ command: CInt) -> CInt {
    adapter("semctl", on: Int(id), failure: -1) { cipc_semctl(id, member, command) }
}

func system_semctl_setval(_ id: CInt, _ member: CInt, _ value: CInt) -> CInt {
    adapter("semctl", on: Int(id), failure: -1) { cipc_semctl_setval(id, member, value) }
}

/// GETALL, SETALL.
func system_semctl_array(_ id: CInt, _ command: CInt, _ values: UnsafeMutablePointer<UInt16>) -> CInt {
    adapter("semctl", on: Int(id), failure: -1) { cipc_semctl_array(id, command, values) }
}

/// IPC_STAT, IPC_SET.
func system_semctl_ds(_ id: CInt, _ command: CInt, _ info: UnsafeMutablePointer<semid_ds>) -> CInt {
    adapter("semctl", on: Int(id), failure: -1) { cipc_semctl_ds(id, command, info) }
}

// MARK: shared memory

func system_shmget(_ key: key_t, _ size: Int, _ flags: CInt) -> CInt {
    adapter("shmget", on: Int(key), failure: -1) { shmget(key, size, flags) }
}

func system_shmat(_ id: CInt, _ address: UnsafeRawPointer?, _ flags: CInt) -> UnsafeMutableRawPointer? {
    adapter("shmat", on: Int(id), failure: UnsafeMutableRawPointer(bitPattern: -1)) { shmat(id, address, flags) }
}

func system_shmdt(_ address: UnsafeRawPointer) -> CInt {
    adapter("shmdt", on: Int(bitPattern: address), failure: -1) { shmdt(address) }
}

func system_shmctl(_ id: CInt, _ command: CInt, _ info: UnsafeMutablePointer<shmid_ds>?) -> CInt {
    adapter("shmctl", on: Int(id), failure: -1) { shmctl(id, command, info) }
}
