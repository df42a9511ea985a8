import Synchronization
import SystemPackage

/// A `PosixThread`'s cancellation request and cleanup handlers, found by the
/// thread itself through a thread-specific key (SPEC P6).
class ThreadControl: @unchecked Sendable {
    private let cancellationRequested = Atomic<Bool>(false)
    /// Touched only by the thread itself.
    private var cleanups: [() -> Void] = []

    func requestCancellation() { cancellationRequested.store(true, ordering: .releasing) }

    var isCancellationRequested: Bool { cancellationRequested.load(ordering: .acquiring) }

    func push(_ cleanup: @escaping () -> Void) { cleanups.append(cleanup) }

    func pop() -> (() -> Void)? { cleanups.popLast() }

    /// Runs every handler still pushed, the last pushed first. A handler that
    /// pushes another gets it run too.
    func runAllCleanups() {
        while let cleanup = cleanups.popLast() { cleanup() }
    }

    /// The calling thread's control: nil unless it is a `PosixThread` running its body.
    static var current: ThreadControl? { (try? key.get())?.value }

    static func install(_ control: ThreadControl?) {
        // Only an unusable key (no key left in the process) fails; the thread then
        // behaves as one that is never cancelled and has nowhere to push handlers.
        try? key.get().set(control)
    }

    private static let key = Result<ThreadSpecificKey<ThreadControl>, IPCError> { () throws(IPCError) in
        try ThreadSpecificKey<ThreadControl>()
    }
}
