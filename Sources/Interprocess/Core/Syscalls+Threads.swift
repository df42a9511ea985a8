import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for threads and futexes (see Syscalls.swift for the rules).

// MARK: threads

/// `pthread_attr_init`, `pthread_attr_setstacksize(stackSize)` when given,
/// `pthread_attr_setdetachstate(PTHREAD_CREATE_DETACHED)` when `detached`, then
/// `pthread_create(thread, attributes, start, argument)`: 0 or the error number (it
/// does not set errno). Only `LibraryThread.start` calls it.
func system_pthread_create(
    _ thread: UnsafeMutablePointer<pthread_t>,
    stackSize: Int?,
    detached: Bool,
    _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
    _ argument: UnsafeMutableRawPointer?
) -> CInt {
    errorNumberAdapter("pthread_create") {
        var attributes = pthread_attr_t()
        var rc = pthread_attr_init(&attributes)
        if rc != 0 { return rc }
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { rc = pthread_attr_setstacksize(&attributes, stackSize) }
        if rc == 0 && detached { rc = pthread_attr_setdetachstate(&attributes, CInt(PTHREAD_CREATE_DETACHED)) }
        if rc == 0 { rc = pthread_create(thread, &attributes, start, argument) }
        return rc
    }
}

// MARK: thread-specific data (ThreadSpecificKey)

/// `pthread_key_create(key, destructor)`: 0 or the error number (`EAGAIN`: all
/// `PTHREAD_KEYS_MAX` keys in use).
func system_pthread_key_create(
    _ key: UnsafeMutablePointer<pthread_key_t>,
    _ destructor: @convention(c) (UnsafeMutableRawPointer?) -> Void
) -> CInt {
    errorNumberAdapter("pthread_key_create") { pthread_key_create(key, destructor) }
}

/// `pthread_setspecific(key, value)`: 0 or the error number (`ENOMEM`, `EINVAL`).
func system_pthread_setspecific(_ key: pthread_key_t, _ value: UnsafeRawPointer?) -> CInt {
    errorNumberAdapter("pthread_setspecific", on: Int(key)) { pthread_setspecific(key, value) }
}

/// `pthread_key_delete(key)`: 0 or the error number (`EINVAL`). Runs no destructor.
func system_pthread_key_delete(_ key: pthread_key_t) -> CInt {
    errorNumberAdapter("pthread_key_delete", on: Int(key)) { pthread_key_delete(key) }
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

// MARK: membarrier (Channels)

func system_membarrier_query() -> CInt {
    adapter("membarrier", failure: -1) { cipc_membarrier_query() }
}

func system_membarrier_register_global_expedited() -> CInt {
    adapter("membarrier", failure: -1) { cipc_membarrier_register_global_expedited() }
}

func system_membarrier_global_expedited() -> CInt {
    adapter("membarrier", failure: -1) { cipc_membarrier_global_expedited() }
}

// MARK: process-shared robust mutexes (MappedMutex)

/// `pthread_mutexattr_init`, `settype(type)`, `setpshared(PTHREAD_PROCESS_SHARED)`,
/// `setrobust(PTHREAD_MUTEX_ROBUST)`, then `pthread_mutex_init`: 0 or the error number.
func system_pthread_mutex_init_robust_shared(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, _ type: CInt) -> CInt {
    errorNumberAdapter("pthread_mutex_init", on: Int(bitPattern: mutex)) {
        var attributes = pthread_mutexattr_t()
        var rc = pthread_mutexattr_init(&attributes)
        if rc != 0 { return rc }
        defer { pthread_mutexattr_destroy(&attributes) }
        rc = pthread_mutexattr_settype(&attributes, type)
        if rc == 0 { rc = pthread_mutexattr_setpshared(&attributes, CInt(PTHREAD_PROCESS_SHARED)) }
        if rc == 0 { rc = pthread_mutexattr_setrobust(&attributes, CInt(PTHREAD_MUTEX_ROBUST)) }
        if rc == 0 { rc = pthread_mutex_init(mutex, &attributes) }
        return rc
    }
}

/// `pthread_mutex_trylock`: 0, or the error number (`EBUSY`, `EOWNERDEAD` — then
/// the lock is held —, `ENOTRECOVERABLE`, `EDEADLK`, `EAGAIN`).
func system_pthread_mutex_trylock(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) -> CInt {
    errorNumberAdapter("pthread_mutex_trylock", on: Int(bitPattern: mutex)) { pthread_mutex_trylock(mutex) }
}

/// `pthread_mutex_unlock`: 0 or the error number (`EPERM`).
func system_pthread_mutex_unlock(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) -> CInt {
    errorNumberAdapter("pthread_mutex_unlock", on: Int(bitPattern: mutex)) { pthread_mutex_unlock(mutex) }
}

/// `pthread_mutex_consistent`: 0 or the error number (`EINVAL`).
func system_pthread_mutex_consistent(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) -> CInt {
    errorNumberAdapter("pthread_mutex_consistent", on: Int(bitPattern: mutex)) { pthread_mutex_consistent(mutex) }
}
