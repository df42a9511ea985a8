import CInterprocess
import Synchronization

extension Mutex where Value: ~Copyable {
    /// `withLock`, with the hand-over made visible to the thread sanitizer
    /// (`cipc_sanitizer_acquire` / `cipc_sanitizer_release` on the mutex's own
    /// address, which is stable: a `Mutex` is never moved or copied).
    ///
    /// On Linux a contended `Mutex` passes from one thread to the next inside the
    /// kernel (FUTEX_LOCK_PI / FUTEX_UNLOCK_PI), which TSan does not see: without
    /// the annotation it reports the state the lock protects as raced (the
    /// reactor's waiters, the fault-injection state). Outside a TSan build the
    /// annotations do nothing.
    borrowing func withSanitizedLock<Result: Sendable>(
        _ body: (inout sending Value) -> sending Result
    ) -> Result {
        let key = withUnsafePointer(to: self) { UnsafeMutableRawPointer(mutating: $0) }
        return withLock { value in
            cipc_sanitizer_acquire(key)
            defer { cipc_sanitizer_release(key) }
            return body(&value)
        }
    }
}
