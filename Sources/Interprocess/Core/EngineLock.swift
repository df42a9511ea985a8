#if canImport(Glibc)
import Glibc
#endif

/// A `pthread_mutex_t` at a stable address, for state that threads of the
/// library's own wait on with `EngineCondition` (a Swift `Mutex` has no condition).
///
/// The one place the library calls C functions without a syscall adapter, on
/// purpose: a private, default-kind mutex and condition that this file initialises
/// cannot fail (their error numbers — `EINVAL`, `EDEADLK`, `EPERM` — report misuse,
/// which these few lines rule out), fault injection here could only simulate the
/// impossible, and a call log of every engine hand-over would drown the calls a
/// test means to see.
final class EngineLock: @unchecked Sendable {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    /// In the child of a `fork`: the lock as new, whoever held it in the parent.
    func reinitializeAfterFork() { pthread_mutex_init(mutex, nil) }
}

/// A `pthread_cond_t` on the monotonic clock (`pthread_condattr_setclock`), so a
/// wait until a `Deadline` is not moved by changes of the wall clock.
final class EngineCondition: @unchecked Sendable {
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    @inline(__always) func signal() { pthread_cond_signal(condition) }

    /// Waits (with `lock` held) until signalled or `deadline`; false when the
    /// deadline passed. A spurious wake-up returns true: callers re-check.
    func wait(_ lock: EngineLock, until deadline: Deadline) -> Bool {
        var at = deadline.absoluteTimespec
        return pthread_cond_timedwait(condition, lock.mutex, &at) != ETIMEDOUT
    }
}
