import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for watched and sent signals (see Syscalls.swift for the rules).

/// `signalfd(fd, mask, flags)`: a new descriptor (`fd` -1) or `fd` with its mask replaced.
func system_signalfd(_ fd: CInt, _ mask: UnsafePointer<sigset_t>, _ flags: CInt) -> CInt {
    adapter("signalfd", on: Int(fd), failure: -1) { cipc_signalfd(fd, mask, flags) }
}

/// `sigqueue(pid, signal, {.sival_int = value})`.
func system_sigqueue(_ pid: pid_t, _ signal: CInt, _ value: Int32) -> CInt {
    adapter("sigqueue", on: Int(pid), failure: -1) { cipc_sigqueue(pid, signal, value) }
}

/// `sigaction` installing the library's handler for `signal`, the program's action
/// saved (`cipc_signal_watch`).
func system_signal_watch(_ signal: CInt, _ forwardFD: CInt) -> CInt {
    adapter("sigaction", on: Int(signal), failure: -1) { cipc_signal_watch(signal, forwardFD) }
}

/// `pthread_sigmask(SIG_BLOCK, {signal})` in the calling thread, remembered for
/// a forked child (`cipc_signal_block_in_this_thread`): 0 or the error number.
func system_signal_block_in_this_thread(_ signal: CInt) -> CInt {
    errorNumberAdapter("pthread_sigmask", on: Int(signal)) { cipc_signal_block_in_this_thread(signal) }
}

/// `sigaction` putting the library's handler back first for a watched `signal`
/// (`cipc_signal_keep_first`).
func system_signal_keep_first(_ signal: CInt) -> CInt {
    adapter("sigaction", on: Int(signal), failure: -1) { cipc_signal_keep_first(signal) }
}
