import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension Futex {
    /// The async form of `wait(_:expecting:until:)`: suspends the task, not a
    /// thread of the cooperative pool, while `*word == value`, until woken, or until
    /// `deadline` (nil or `.distantFuture`: none).
    ///
    /// The word is read first (an acquiring atomic load): when it no longer holds
    /// `value` this returns true at once, with no thread involved. Otherwise
    /// `futex(FUTEX_WAIT_BITSET)` — with the deadline as the kernel's own timeout —
    /// runs on a worker of the `WaitingEngine`, which interrupts it when the task is
    /// cancelled.
    ///
    /// Returns true when the caller must re-check the word (woken, the value
    /// changed, a spurious wake-up), false when the deadline passed. Throws
    /// `CancellationError` promptly when the task is cancelled, and `IPCError` as
    /// the blocking form does.
    ///
    /// The corresponding C call is `futex(2)` with `FUTEX_WAIT_BITSET`.
    public static func wait(_ word: UnsafeMutablePointer<UInt32>, expecting value: UInt32,
                            until deadline: Deadline?) async throws -> Bool {
        try Task.checkCancellation()
        let atomic = UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
        if atomic.pointee.load(ordering: .acquiring) != value { return true }
        let deadline = deadline ?? .distantFuture
        if deadline.hasPassed { return false }
        let address = UInt(bitPattern: word)
        let result = try await WaitingEngine.wait { () -> Result<Bool, IPCError>? in
            let word = UnsafeMutablePointer<UInt32>(bitPattern: address)!
            let rc: CInt
            if deadline == .distantFuture {
                rc = system_futex_wait(word, value, nil)
            } else {
                var at = deadline.absoluteTimespec
                rc = system_futex_wait(word, value, &at)
            }
            if rc == 0 { return .success(true) }
            switch Glibc.errno {
            case EINTR: return nil
            case EAGAIN: return .success(true)
            case ETIMEDOUT: return .success(false)
            default: return .failure(IPCError.last("futex", object: "FUTEX_WAIT_BITSET at \(word)"))
            }
        }
        return try result?.get() ?? false
    }
}
