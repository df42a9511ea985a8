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
        try start(name: name, stackSize: nil, detached: false, body)
    }

    /// Starts a thread named `name` running `body` with a stack of `stackSize` bytes
    /// (nil: the default, `RLIMIT_STACK`) and, when `detached`, created detached
    /// (`pthread_attr_setstacksize`, `pthread_attr_setdetachstate`, SPEC P6). A stack
    /// smaller than `PTHREAD_STACK_MIN` (`sysconf(_SC_THREAD_STACK_MIN)`) is `EINVAL`.
    /// A detached thread's `pthread_t` must not be joined or detached.
    public static func start(
        name: String, stackSize: Int?, detached: Bool, _ body: @escaping @Sendable () -> Void
    ) throws(IPCError) -> pthread_t {
        if let stackSize, stackSize < minimumStackSize {
            throw IPCError(.invalidArgument, operation: "pthread_attr_setstacksize", object: "thread \(name)",
                           detail: "a stack has at least PTHREAD_STACK_MIN (\(minimumStackSize)) bytes, not \(stackSize)")
        }
        registerForkHandler()
        let start = Unmanaged.passRetained(ThreadStart(name: name, body: body))
        var mask = sigset_t()
        cipc_library_thread_mask(&mask)
        var creatorMask = sigset_t()
        _ = system_pthread_sigmask(SIG_SETMASK, &mask, &creatorMask)  // fails only for a bad `how`
        var thread = pthread_t()
        let rc = system_pthread_create(&thread, stackSize: stackSize, detached: detached, { raw in
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

    /// `PTHREAD_STACK_MIN`: the smallest stack a thread may have (glibc makes it a
    /// run-time value, `sysconf(_SC_THREAD_STACK_MIN)`).
    public static var minimumStackSize: Int {
        let value = sysconf(CInt(_SC_THREAD_STACK_MIN))
        return value > 0 ? value : 16384
    }

    /// Starts a detached thread (one nobody joins): `start`, then `detach`.
    public static func startDetached(name: String, _ body: @escaping @Sendable () -> Void) throws(IPCError) {
        _ = try start(name: name, stackSize: nil, detached: true, body)
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

    /// The program's handlers (`ForkHandlers.register`), in the order registered.
    /// Guarded by `forkLock`.
    nonisolated(unsafe) private static var programHandlers: [ForkHandlerSet] = []

    /// Adds one set of the program's fork handlers (SPEC P9).
    static func addProgramForkHandlers(_ handlers: ForkHandlerSet) {
        registerForkHandler()
        pthread_mutex_lock(forkLock)
        programHandlers.append(handlers)
        pthread_mutex_unlock(forkLock)
    }

    /// One `pthread_atfork` registration for the whole library. `prepare` takes the
    /// registry's lock and both `parent` and `child` release it, so the child reads
    /// a registry no other thread was changing. The program's handlers run inside
    /// it: `prepare` ones in reverse order of registration (with the lock held),
    /// `parent` and `child` ones in order; in the child, after the library's resets.
    private static let forkHandlerRegistered: Void = {
        _ = forkLock
        _ = pthread_atfork(
            {
                pthread_mutex_lock(LibraryThread.forkLock)
                for handlers in LibraryThread.programHandlers.reversed() { handlers.prepare?() }
            },
            {
                let handlers = LibraryThread.programHandlers
                pthread_mutex_unlock(LibraryThread.forkLock)
                for set in handlers { set.parent?() }
            },
            {
                let resets = LibraryThread.forkResets
                let handlers = LibraryThread.programHandlers
                pthread_mutex_unlock(LibraryThread.forkLock)
                for reset in resets { reset() }
                for set in handlers { set.child?() }
            })
    }()

    static func registerForkHandler() { _ = forkHandlerRegistered }
}
