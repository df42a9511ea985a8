import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The one way the library (and the `ipc` tool) creates a thread.
///
/// `start` calls `pthread_create` through `system_pthread_create` with the
/// creator's signal mask set, for the duration of the call, to
/// `cipc_library_thread_mask`: every signal blocked except the synchronous fault
/// signals (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`, `SIGSYS`, which the
/// kernel would deliver with the default action if they were blocked — and the
/// `SIGBUS` guard of mappings must keep working on library threads). The new thread
/// inherits that mask, so it is in place before the thread runs any code; the
/// creator's mask is restored at once. `LibrarySignals.interrupt` stays blocked too:
/// a wait that can be interrupted unblocks it around the blocking call
/// (`LibrarySignals.beginInterruptibleWait`). So a signal the program wants to read
/// itself (with `sigwait` or a `signalfd`, blocked in its own threads) is never taken
/// by a library thread.
///
/// The thread is named with `pthread_setname_np` (`cipc_set_thread_name`; at most 15 bytes, cut at a
/// character boundary), so it shows in /proc/PID/task/TID/comm, `top -H` and
/// debuggers.
///
/// A process that forks keeps only the forking thread: `afterForkInChild` registers
/// what to reset in the child (the reactor, the waiting engine), run by one
/// `pthread_atfork` child handler.
///
/// ```swift
/// let thread = try LibraryThread.start(name: "ipc-worker") { work() }
/// LibraryThread.join(thread)
/// ```
public enum LibraryThread {
    /// Starts a joinable thread named `name` running `body`. Pair with `join` or
    /// `detach`. Throws the `pthread_create` error (`EAGAIN`: no thread left).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(IPCError) -> pthread_t {
        registerForkHandler()
        let start = Unmanaged.passRetained(ThreadStart(name: name, body: body))
        var mask = sigset_t()
        cipc_library_thread_mask(&mask)
        var creatorMask = sigset_t()
        _ = system_pthread_sigmask(SIG_SETMASK, &mask, &creatorMask)  // fails only for a bad `how`
        var thread = pthread_t()
        let rc = system_pthread_create(&thread, { raw in
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            start.name.withCString { _ = cipc_set_thread_name($0) }
            cipc_library_thread_mark()
            start.body()
            return nil
        }, start.toOpaque())
        _ = system_pthread_sigmask(SIG_SETMASK, &creatorMask, nil)
        if rc != 0 {
            start.release()
            throw IPCError(Errno(rawValue: rc), operation: "pthread_create", object: "thread \(name)")
        }
        return thread
    }

    /// Starts a detached thread (one nobody joins): `start`, then `detach`.
    public static func startDetached(name: String, _ body: @escaping @Sendable () -> Void) throws(IPCError) {
        detach(try start(name: name, body))
    }

    /// Waits for `thread` to end (`pthread_join`).
    public static func join(_ thread: pthread_t) {
        _ = system_pthread_join(thread)  // EDEADLK/EINVAL/ESRCH: a library bug, nothing to recover
    }

    /// Lets `thread` release its resources when it ends (`pthread_detach`).
    public static func detach(_ thread: pthread_t) {
        _ = system_pthread_detach(thread)
    }

    /// The name a thread gets for `name`: its first 15 bytes at most (the kernel's
    /// limit, `TASK_COMM_LEN` - 1), cut at a character boundary.
    static func threadName(_ name: String) -> String {
        var cut = Substring(name)
        while cut.utf8.count > 15 { cut = cut.dropLast() }
        return String(cut)
    }

    /// What the new thread runs: names itself, then the body.
    private final class ThreadStart {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = LibraryThread.threadName(name)
            self.body = body
        }
    }

    // MARK: fork

    /// Registers `reset` to run in the child of every later `fork()`, on the only
    /// thread the child has, before `fork` returns there: it must forget the
    /// library's threads of the parent (which do not exist in the child) so they are
    /// started afresh on first use, and must not take a lock another thread of the
    /// parent may have held. Resets run in the order they were registered.
    public static func afterForkInChild(_ reset: @escaping @Sendable () -> Void) {
        registerForkHandler()
        pthread_mutex_lock(forkLock)
        forkResets.append(reset)
        pthread_mutex_unlock(forkLock)
    }

    nonisolated(unsafe) private static let forkLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()

    /// Guarded by `forkLock`.
    nonisolated(unsafe) private static var forkResets: [@Sendable () -> Void] = []

    /// One `pthread_atfork` registration for the whole library. `prepare` takes the
    /// registry's lock and both `parent` and `child` release it, so the child reads
    /// a registry no other thread was changing.
    private static let forkHandlerRegistered: Void = {
        _ = forkLock
        _ = pthread_atfork(
            { pthread_mutex_lock(LibraryThread.forkLock) },
            { pthread_mutex_unlock(LibraryThread.forkLock) },
            {
                let resets = LibraryThread.forkResets
                pthread_mutex_unlock(LibraryThread.forkLock)
                for reset in resets { reset() }
            })
    }()

    static func registerForkHandler() { _ = forkHandlerRegistered }
}
