import Synchronization

/// What a `PosixThread` shares with the thread it runs: the cancellation request
/// and the cleanup handlers (`ThreadControl`), and the body's outcome.
final class ThreadRun<Success: Sendable, Failure: Error>: ThreadControl, @unchecked Sendable {
    /// Written once by the thread before it ends; read by `join` after
    /// `pthread_join`, which orders the two.
    private var result: Result<Success, Failure>?

    /// Runs on the new thread: makes this the thread's control, runs `body`, then
    /// the cleanup handlers still pushed (in reverse order), then keeps the outcome.
    func execute(_ body: () throws(Failure) -> Success) {
        ThreadControl.install(self)
        let outcome = Result<Success, Failure> { () throws(Failure) -> Success in try body() }
        runAllCleanups()
        ThreadControl.install(nil)
        result = outcome
    }

    func outcome() -> Result<Success, Failure> {
        // Set before the thread ended, which `join` waited for.
        guard let result else { fatalError("PosixThread: joined a thread that did not finish its body") }
        return result
    }
}
