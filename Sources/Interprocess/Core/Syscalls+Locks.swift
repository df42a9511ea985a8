import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for the record-lock calls (SPEC Y8; see Syscalls.swift for the
// pattern). F_SETLKW, F_OFD_SETLKW and a blocking flock are interrupted by a
// signal handler (EINTR) whatever SA_RESTART says: callers see EINTR and decide.

/// `fcntl(fd, command, lock)` for F_GETLK, F_SETLK, F_SETLKW and the F_OFD_ forms.
@inline(__always)
func system_fcntl_lock(_ fd: CInt, _ command: CInt, _ lock: UnsafeMutablePointer<cipc_flock>) -> CInt {
    adapter("fcntl", on: Int(fd), failure: -1) { cipc_fcntl_lock(fd, command, lock) }
}

/// `flock(fd, operation)`: LOCK_SH, LOCK_EX, LOCK_UN, with LOCK_NB or not.
@inline(__always)
func system_flock(_ fd: CInt, _ operation: CInt) -> CInt {
    adapter("flock", on: Int(fd), failure: -1) { cipc_flock_file(fd, operation) }
}

/// `pread(fd, buffer, count, offset)`: reads a lock file from its start whatever
/// the descriptor's offset (SPEC Y10).
func system_pread(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ offset: off_t) -> Int {
    adapter("pread", on: Int(fd), failure: -1) { pread(fd, buffer, count, offset) }
}
