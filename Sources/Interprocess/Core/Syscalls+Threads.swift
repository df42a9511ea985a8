import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for threads and futexes (see Syscalls.swift for the rules).

// MARK: threads

/// `pthread_create(thread, NULL, start, argument)`: 0 or the error number (it does
/// not set errno). Only `LibraryThread.start` calls it.
func system_pthread_create(
    _ thread: UnsafeMutablePointer<pthread_t>,
    _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
    _ argument: UnsafeMutableRawPointer?
) -> CInt {
    errorNumberAdapter("pthread_create") { pthread_create(thread, nil, start, argument) }
}

// MARK: futex

/// `futex(FUTEX_WAIT_BITSET)` on a shared word with an absolute `CLOCK_MONOTONIC`
/// deadline (nil: none). EINTR is *not* retried: a waiter interrupted by
/// `LibrarySignals.interrupt` must get back to its caller.
func system_futex_wait(_ word: UnsafeMutablePointer<UInt32>, _ value: UInt32, _ deadline: UnsafePointer<timespec>?) -> CInt {
    adapter("futex", on: Int(bitPattern: word), failure: -1) { cipc_futex_wait(word, value, deadline) }
}

/// `futex(FUTEX_WAKE)`: the number of waiters woken, or -1.
func system_futex_wake(_ word: UnsafeMutablePointer<UInt32>, _ count: CInt) -> CInt {
    adapter("futex", on: Int(bitPattern: word), failure: -1) { cipc_futex_wake(word, count) }
}
