import CInterprocess

// A continuation that a thread of the library's own resumes (an engine worker, the
// reactor) may be resumed before its task reaches the `await`. The concurrency
// runtime then continues the task at once: `swift_continuation_await` finds the
// continuation resumed with an acquire load, in the uninstrumented runtime.
// `swift_continuation_resume` tells the thread sanitizer it released the task
// (`__tsan_release` on the task's address), but on this path nothing acquires it
// (the runtime's only `__tsan_acquire` for a resumed task is in `swift_job_run`, for
// a task that was suspended and enqueued). TSan then takes the resumer's last read
// of the continuation's context (inside `resume`) as racing with the task's next
// use of that memory, e.g. the next continuation's context in the same frame.
// Acquiring the task's address once the await is over supplies the missing edge;
// outside a TSan build `cipc_sanitizer_acquire` does nothing. The address is the
// continuation's one stored pointer, the task (`Builtin.RawUnsafeContinuation`, the
// pointer `swift_continuation_resume` takes).

/// `withUnsafeContinuation`, its resume visible to the thread sanitizer when it
/// comes before the await.
func withSanitizedContinuation<T: Sendable>(_ body: (UnsafeContinuation<T, Never>) -> Void) async -> T {
    var task: UnsafeMutableRawPointer?
    let value = await withUnsafeContinuation { (continuation: UnsafeContinuation<T, Never>) in
        task = unsafeBitCast(continuation, to: UnsafeMutableRawPointer.self)
        body(continuation)
    }
    cipc_sanitizer_acquire(task)
    return value
}
