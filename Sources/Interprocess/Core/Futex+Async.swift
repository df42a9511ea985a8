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
    /// Returns when the caller must re-check the word (woken, the value changed, a
    /// spurious wake-up); throws `ETIMEDOUT` when the deadline passed,
    /// `CancellationError` promptly when the task is cancelled, and `IPCError` as
    /// the blocking form does.
    ///
    /// The corresponding C call is `futex(2)` with `FUTEX_WAIT_BITSET`.
    public static func waitAsync(_ word: UnsafeMutablePointer<UInt32>, expecting value: UInt32,
                            until deadline: Deadline?) async throws {
        try Task.checkCancellation()
        let atomic = UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
        if atomic.pointee.load(ordering: .acquiring) != value { return }
        let deadline = deadline ?? .distantFuture
        if deadline.hasPassed { throw timedOut(word) }
        let address = UInt(bitPattern: word)
        let result = try await WaitingEngine.wait { () -> Result<Void, IPCError>? in
            let word = UnsafeMutablePointer<UInt32>(bitPattern: address)!
            let rc: CInt
            if deadline == .distantFuture {
                rc = system_futex_wait(word, value, nil)
            } else {
                var at = deadline.absoluteTimespec
                rc = system_futex_wait(word, value, &at)
            }
            if rc == 0 { return .success(()) }
            switch lastErrno {
            case EINTR: return nil
            case EAGAIN: return .success(())
            case ETIMEDOUT: return .failure(timedOut(word))
            default: return .failure(IPCError.last("futex", object: "FUTEX_WAIT_BITSET at \(word)"))
            }
        }
        guard let result else { throw timedOut(word) }
        try result.get()
    }

    /// `waitAsync(_:expecting:until:)` with a deadline `timeout` from now.
    public static func waitAsync(_ word: UnsafeMutablePointer<UInt32>, expecting value: UInt32,
                                 timeout: Duration) async throws {
        try await waitAsync(word, expecting: value, until: .after(timeout))
    }
}
