import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Cooperative cancellation and cleanup handlers of the calling thread, when it is
/// a `PosixThread` running its body (SPEC P6).
///
/// ```swift
/// let worker = try PosixThread<Void, any Error>.start(name: "copier") {
///     let file = try open(path)
///     try CurrentThread.pushCleanup { close(file) }
///     for block in blocks {
///         try CurrentThread.checkCancellation()   // a cancellation point
///         try copy(block, from: file)
///     }
/// }
/// worker.cancel()
/// ```
public enum CurrentThread {
    /// A cancellation point: throws `CancellationError` when the calling thread is
    /// a `PosixThread` whose owner called `cancel()`; otherwise returns. The
    /// library calls it nowhere on its own: a thread is cancelled only where its
    /// body checks (the deferred mode of `pthread_testcancel`, never asynchronous).
    public static func checkCancellation() throws(CancellationError) {
        if isCancellationRequested { throw CancellationError() }
    }

    /// Whether the calling thread's owner asked it to stop.
    public static var isCancellationRequested: Bool { ThreadControl.current?.isCancellationRequested ?? false }

    /// Pushes a cleanup handler (`pthread_cleanup_push`): the handlers still pushed
    /// when the body ends — returning, throwing, or unwinding from a cancellation
    /// point — run on this thread, the last pushed first. Throws `EPERM` on a thread
    /// that is not a `PosixThread` running its body (nobody would run it).
    public static func pushCleanup(_ handler: @escaping () -> Void) throws(IPCError) {
        try control(for: "pthread_cleanup_push").push(handler)
    }

    /// Pops the last pushed cleanup handler (`pthread_cleanup_pop`) and, when
    /// `execute`, runs it. Throws `EINVAL` when none is pushed, `EPERM` on a thread
    /// that is not a `PosixThread`.
    public static func popCleanup(execute: Bool) throws(IPCError) {
        guard let handler = try control(for: "pthread_cleanup_pop").pop() else {
            throw IPCError(.invalidArgument, operation: "pthread_cleanup_pop", object: "thread \(cipc_gettid())",
                           detail: "no cleanup handler is pushed")
        }
        if execute { handler() }
    }

    private static func control(for operation: String) throws(IPCError) -> ThreadControl {
        guard let control = ThreadControl.current else {
            throw IPCError(.notPermitted, operation: operation, object: "thread \(cipc_gettid())",
                           detail: "cleanup handlers belong to a PosixThread's body")
        }
        return control
    }
}
