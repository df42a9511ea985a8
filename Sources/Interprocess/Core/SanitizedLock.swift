import CInterprocess
import Synchronization

extension Mutex where Value: ~Copyable {
    /// `withLock`, with the hand-over made visible to the thread sanitizer
    /// (`cipc_sanitizer_acquire` / `cipc_sanitizer_release` on `owner`).
    ///
    /// On Linux a contended `Mutex` passes from one thread to the next inside the
    /// kernel (FUTEX_LOCK_PI / FUTEX_UNLOCK_PI), which TSan does not see: without
    /// the annotation it reports the state the lock protects as raced. `owner` is
    /// any address unique to this lock, e.g. the object that holds it. Outside a
    /// TSan build the annotations do nothing.
    borrowing func withSanitizedLock<Result: Sendable>(
        owner: AnyObject, _ body: (inout sending Value) -> sending Result
    ) -> Result {
        let key = Unmanaged.passUnretained(owner).toOpaque()
        return withLock { value in
            cipc_sanitizer_acquire(key)
            defer { cipc_sanitizer_release(key) }
            return body(&value)
        }
    }
}
