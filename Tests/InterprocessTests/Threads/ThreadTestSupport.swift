import CInterprocess
@testable import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the threads of a test record, in order. (`withSanitizedLock`: TSan does not
/// see a `Mutex` handed over in the kernel.)
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])
    func record(_ event: String) { events.withSanitizedLock { $0.append(event) } }
    var all: [String] { events.withSanitizedLock { $0 } }
}

/// A hand-shake between a test and its threads: an unnamed semaphore.
final class ThreadSignal: Sendable {
    private let semaphore: UnnamedSemaphore
    init() throws { semaphore = try UnnamedSemaphore(value: 0) }
    func post() throws { try semaphore.post() }
    /// Bounded: a hang becomes an ETIMEDOUT failure.
    func wait() throws { try semaphore.wait(timeout: .seconds(30)) }
}

/// The calling thread's name (/proc/self/task/TID/comm) and attributes
/// (`pthread_getattr_np`): stack size and detach state.
struct ThreadAttributesSeen: Sendable {
    var name: String
    var stackSize: Int
    var detached: Bool

    static func current() -> ThreadAttributesSeen {
        let tid = cipc_gettid()
        let comm = (try? InventoryText.read("/proc/self/task/\(tid)/comm")) ?? ""
        var stackSize = 0
        var detached: CInt = -1
        _ = cipc_thread_attributes(&stackSize, &detached)
        return ThreadAttributesSeen(name: comm.trimmingCharacters(in: .newlines), stackSize: stackSize,
                                    detached: detached == 1)
    }
}

final class Seen<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
    func set(_ new: T) { value.withSanitizedLock { $0 = new } }
    var get: T? { value.withSanitizedLock { $0 } }
}

/// A thread waiting to be joined, in an array (`PosixThread` is not copyable).
final class PendingThread<Success: Sendable, Failure: Error> {
    private var thread: PosixThread<Success, Failure>?
    init(_ thread: consuming PosixThread<Success, Failure>) { self.thread = consume thread }
    /// Joins it; nil if it was joined already.
    func join() throws(Failure) -> Success? {
        guard let thread = thread.take() else { return nil }
        return try thread.join()
    }
}
