#if IPC_FAULT_INJECTION
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Makes the syscall adapters fail on purpose, for tests of error paths.
///
/// Faults are scoped to the thread that armed them, so tests running in parallel
/// do not see each other's faults. Compiled into debug builds only (the
/// `IPC_FAULT_INJECTION` condition); release builds carry no check at all.
public enum FaultInjection {
    struct Fault {
        var thread: pthread_t
        var syscall: String
        var errno: CInt
        var remaining: Int
    }

    private static let armedCount = Atomic<Int>(0)
    private static let faults = Mutex<[Fault]>([])

    /// Makes the next `count` calls of `syscall` on this thread fail with `errno`
    /// while `body` runs.
    public static func inject<T, E: Error>(
        _ errno: CInt, into syscall: String, count: Int = 1, during body: () throws(E) -> T
    ) throws(E) -> T {
        let me = pthread_self()
        faults.withLock { $0.append(Fault(thread: me, syscall: syscall, errno: errno, remaining: count)) }
        armedCount.add(1, ordering: .relaxed)
        defer {
            faults.withLock { $0.removeAll { pthread_equal($0.thread, me) != 0 && $0.syscall == syscall } }
            armedCount.subtract(1, ordering: .relaxed)
        }
        return try body()
    }

    /// The errno to fail this call of `syscall` with, if a fault is armed for it on
    /// this thread.
    @inline(__always)
    static func take(_ syscall: StaticString) -> CInt? {
        guard armedCount.load(ordering: .relaxed) > 0 else { return nil }
        return takeSlow(syscall.description)
    }

    private static func takeSlow(_ syscall: String) -> CInt? {
        let me = pthread_self()
        return faults.withLock { list in
            guard let i = list.firstIndex(where: {
                pthread_equal($0.thread, me) != 0 && $0.syscall == syscall && $0.remaining > 0
            }) else { return nil }
            list[i].remaining -= 1
            return list[i].errno
        }
    }
}
#endif
