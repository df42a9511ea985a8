import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Sleeping on, and waking, a 32-bit word in memory shared between processes:
/// Linux's `futex(2)`, the primitive under every process-shared lock, semaphore
/// and condition.
///
/// The futex is *not* private (no `FUTEX_PRIVATE_FLAG`): the kernel keys it by the
/// page and offset of the word, so a process waiting on a word in a `MAP_SHARED`
/// mapping is woken by another process waking the same word in its own mapping,
/// at whatever address. The word must be 4-byte aligned.
///
/// The protocol is the caller's: change the word with an atomic operation, then
/// `wake`; a waiter reads the word, decides to sleep, and calls `wait` with the
/// value it read — the kernel sleeps only if the word still holds it, so a wake
/// between the read and the sleep is never lost. `wait` returns on a wake, a
/// change of the value, a spurious wake-up or a signal: always re-check the word.
/// A deadline that passes is an error (`ETIMEDOUT`), as everywhere in the library.
///
/// For words in a `MemoryMapping`, use `MemoryMapping.futexWait(at:expecting:until:)`
/// and `futexWake(at:count:)` (checked offset and alignment) beside
/// `withAtomic(UInt32.self, at:)` for the atomic operations on the same word.
///
/// ```swift
/// // waiter                                       // waker
/// while flag.load(ordering: .acquiring) == 0 {     flag.store(1, ordering: .releasing)
///     try Futex.wait(word, expecting: 0,           _ = try Futex.wake(word, count: .max)
///                    until: deadline)
/// }
/// ```
public enum Futex {
    /// Sleeps while `*word == value`, until woken, or until `deadline` (nil or
    /// `.distantFuture`: no deadline). `futex(FUTEX_WAIT_BITSET)` with the deadline
    /// as an absolute `CLOCK_MONOTONIC` time, so a wait restarted after a signal
    /// keeps its deadline.
    ///
    /// Returns when the caller must re-check the word: woken (`FUTEX_WAKE`), the
    /// word no longer held `value` (`EAGAIN`), a signal interrupted the sleep
    /// (`EINTR`, e.g. `LibrarySignals.interrupt`), or a spurious wake-up. Throws
    /// `ETIMEDOUT` when the deadline passed, and `IPCError` for anything else
    /// (`EFAULT`: the word is not mapped; `EINVAL`: misaligned).
    public static func wait(_ word: UnsafeMutablePointer<UInt32>, expecting value: UInt32,
                            until deadline: Deadline?) throws(IPCError) {
        let rc: CInt
        if let deadline, deadline != .distantFuture {
            var at = timespec(tv_sec: Int(deadline.nanoseconds / 1_000_000_000),
                              tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
            rc = system_futex_wait(word, value, &at)
        } else {
            rc = system_futex_wait(word, value, nil)
        }
        if rc == 0 { return }
        switch lastErrno {
        case EAGAIN, EINTR: return
        case ETIMEDOUT: throw timedOut(word)
        default: throw IPCError.last("futex", object: "FUTEX_WAIT_BITSET at \(word)")
        }
    }

    /// `wait(_:expecting:until:)` with a deadline `timeout` from now.
    public static func wait(_ word: UnsafeMutablePointer<UInt32>, expecting value: UInt32,
                            timeout: Duration) throws(IPCError) {
        try wait(word, expecting: value, until: .after(timeout))
    }

    static func timedOut(_ word: UnsafeMutablePointer<UInt32>) -> IPCError {
        IPCError(.timedOut, operation: "futex", object: "FUTEX_WAIT_BITSET at \(word)",
                 detail: "not woken before the deadline")
    }

    /// Wakes at most `count` processes or threads sleeping on `word`
    /// (`futex(FUTEX_WAKE)`; `Int32.max` wakes all). Returns how many were woken.
    @discardableResult
    public static func wake(_ word: UnsafeMutablePointer<UInt32>, count: Int32) throws(IPCError) -> Int {
        let rc = system_futex_wake(word, count)
        if rc < 0 { throw IPCError.last("futex", object: "FUTEX_WAKE at \(word)") }
        return Int(rc)
    }
}
