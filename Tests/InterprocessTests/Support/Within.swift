import Synchronization

/// The result of `task`, or nil when it has not finished within `limit`: turns a
/// hang into a test failure instead of a test run that never ends. (Awaiting
/// `task.value` directly would wait forever for a task that hangs.)
func result<T: Sendable>(of task: Task<T, any Error>, within limit: Duration) async -> Result<T, any Error>? {
    let slot = ResumeOnce<Result<T, any Error>?>()
    return await withCheckedContinuation { continuation in
        slot.set(continuation)
        Task { slot.resume(await task.result) }
        Task { try? await Task.sleep(for: limit); slot.resume(nil) }
    }
}

private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)
    func set(_ c: CheckedContinuation<Value, Never>) { continuation.withLock { $0 = c } }
    func resume(_ value: Value) { continuation.withLock { $0.take() }?.resume(returning: value) }
}
