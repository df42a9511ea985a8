// TEMPORARY: stands in for helper A2's Core/Futex.swift until branch a2-threads is
// merged; deleted then. Same signatures, polling instead of sleeping in the kernel.
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public enum Futex {
    public static func wait(_ word: UnsafeMutablePointer<UInt32>, expecting value: UInt32,
                            until deadline: Deadline?) throws(IPCError) -> Bool {
        let atomic = UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
        while atomic.pointee.load(ordering: .acquiring) == value {
            if let deadline, deadline.hasPassed { return false }
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
        }
        return true
    }

    @discardableResult
    public static func wake(_ word: UnsafeMutablePointer<UInt32>, count: Int32) throws(IPCError) -> Int { 0 }
}
