import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for the spin lock and the barrier (see Syscalls.swift for the rules).

/// `futex_waitv` on shared 32-bit words (`cipc_futex_waitv`): the index of the
/// word woken, or -1 (errno: EAGAIN, ETIMEDOUT, EINTR, ENOSYS…). EINTR is not
/// retried: an interrupted waiter must get back to its caller.
func system_futex_waitv(_ words: UnsafePointer<UnsafeMutablePointer<UInt32>?>, _ values: UnsafePointer<UInt32>,
                        _ count: Int, _ deadline: UnsafePointer<timespec>?) -> CInt {
    adapter("futex_waitv", on: Int(bitPattern: words.pointee), failure: -1) {
        cipc_futex_waitv(words, values, CUnsignedInt(count), deadline)
    }
}

/// `tgkill(pid, tid, 0)` plus the zombie check of `cipc_thread_alive`: 1 alive, 0
/// dead, -1 unknown.
func system_thread_alive(_ pid: Int32, _ tid: Int32) -> CInt {
    adapter("tgkill", on: Int(tid), failure: -1) { cipc_thread_alive(pid, tid) }
}
