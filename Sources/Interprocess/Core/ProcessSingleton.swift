import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one object of a kind a process runs (the reactor, the signal center):
/// made on first use, kept for the life of the process, and forgotten in a
/// forked child, which has none of the parent's threads — `forgetInChild` releases
/// what the child inherited (descriptors), and the child's first use makes its own.
///
/// Reading the running object takes no lock; making one takes `lock`, so two
/// threads never both make one. Making can fail (no descriptor or thread left):
/// the caller gets that error, and the next use tries again.
final class ProcessSingleton<Object: AnyObject & Sendable>: Sendable {
    /// The running object (retained), or nil before the first use and in a forked child.
    private let current = Atomic<Unmanaged<Object>?>(nil)
    nonisolated(unsafe) private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let make: @Sendable () throws(IPCError) -> Object
    private let forgetInChild: @Sendable (Object) -> Void

    init(make: @escaping @Sendable () throws(IPCError) -> Object, forgetInChild: @escaping @Sendable (Object) -> Void) {
        lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        self.make = make
        self.forgetInChild = forgetInChild
        LibraryThread.afterForkInChild { [self] in forgetAfterFork() }
    }

    /// The running object, made now if there is none.
    var object: Object {
        get throws(IPCError) {
            if let running = current.load(ordering: .acquiring) { return running.takeUnretainedValue() }
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            if let running = current.load(ordering: .acquiring) { return running.takeUnretainedValue() }
            let made = try make()
            current.store(Unmanaged.passRetained(made), ordering: .releasing)
            return made
        }
    }

    /// In a forked child (one thread, nothing else running): release what the
    /// parent's object left here, leave the object itself (its state may be
    /// mid-change), and let the next use make a new one. The lock may have been
    /// held at the fork.
    private func forgetAfterFork() {
        if let old = current.load(ordering: .acquiring) {
            forgetInChild(old.takeUnretainedValue())
            current.store(nil, ordering: .releasing)
        }
        pthread_mutex_init(lock, nil)
    }
}
