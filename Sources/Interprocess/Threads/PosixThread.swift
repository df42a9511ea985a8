import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread the program starts, owned by this value until it is joined or
/// detached — exactly once, as the type is not copyable (SPEC P6): `pthread_create`,
/// `pthread_join`, `pthread_detach`.
///
/// It is created by `LibraryThread` (the library's one way to create a thread), so
/// it starts with every asynchronous signal blocked (read signals in one place),
/// carries its name (at most 15 bytes) in /proc/PID/task/TID/comm, and follows the
/// library's fork handling.
///
/// ```swift
/// let worker = try PosixThread.start(name: "sorter", stackSize: 1 << 20) { () throws(SortError) in
///     try sort(&part)
/// }
/// let count = try worker.join()   // the body's value, or the error it threw
/// ```
///
/// Cancellation is cooperative: `cancel()` asks, the body sees it at the
/// cancellation points it reaches (`CurrentThread.checkCancellation()`, which throws
/// `CancellationError`), then unwinds like any throw and the cleanup handlers run.
/// `pthread_cancel` is never used: its asynchronous mode stops a thread at any
/// instruction, and even its deferred mode ends the thread with a forced unwind
/// that Swift frames do not take part in — `defer` blocks and `deinit`s are
/// skipped, reference counts stay raised, locks stay held — leaking or corrupting
/// what the thread touched.
///
/// A value dropped without `join` or `detach` detaches the thread.
public struct PosixThread<Success: Sendable, Failure: Error>: ~Copyable, Sendable {
    /// The C thread.
    public let thread: pthread_t
    private let run: Unmanaged<ThreadRun<Success, Failure>>

    /// Starts a joinable thread named `name` (cut to 15 bytes) with a stack of
    /// at least `stackSize` bytes (nil: the default) running `body` (`pthread_create`).
    /// Throws `EINVAL` for a stack smaller than `PTHREAD_STACK_MIN`, `EAGAIN` when
    /// no thread can be created.
    public static func start(
        name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () throws(Failure) -> Success
    ) throws(IPCError) -> PosixThread {
        let run = ThreadRun<Success, Failure>()
        let thread = try LibraryThread.start(name: name, stackSize: stackSize, detached: false) {
            run.execute(body)
        }
        return PosixThread(thread: thread, run: Unmanaged.passRetained(run))
    }

    /// Starts a thread created detached (`PTHREAD_CREATE_DETACHED`): nobody joins
    /// it, its result is dropped, it cannot be cancelled from outside.
    public static func startDetached(
        name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () throws(Failure) -> Success
    ) throws(IPCError) {
        let run = ThreadRun<Success, Failure>()
        _ = try LibraryThread.start(name: name, stackSize: stackSize, detached: true) { run.execute(body) }
    }

    private init(thread: pthread_t, run: Unmanaged<ThreadRun<Success, Failure>>) {
        self.thread = thread
        self.run = run
    }

    /// Waits for the thread to end (`pthread_join`) and returns what its body
    /// returned, or throws what it threw (`CancellationError` when it stopped at a
    /// cancellation point). Its cleanup handlers have run.
    public consuming func join() throws(Failure) -> Success {
        let thread = self.thread, run = self.run
        discard self
        LibraryThread.join(thread)
        return try run.takeRetainedValue().outcome().get()
    }

    /// Lets the thread run on alone and release its resources when it ends
    /// (`pthread_detach`); its result is dropped.
    public consuming func detach() {
        let thread = self.thread, run = self.run
        discard self
        LibraryThread.detach(thread)
        run.release()
    }

    /// Asks the thread to stop at its next cancellation point (deferred,
    /// cooperative cancellation; never `pthread_cancel`).
    public func cancel() {
        run.takeUnretainedValue().requestCancellation()
    }

    deinit {
        LibraryThread.detach(thread)
        run.release()
    }
}
