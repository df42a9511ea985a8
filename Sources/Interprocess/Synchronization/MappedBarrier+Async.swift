#if canImport(Glibc)
import Glibc
#endif

extension MappedBarrier {
    /// The async form of `wait(as:until:)` (SPEC Y7): arrives, then suspends the
    /// task — never blocking a thread of the cooperative pool — while the wait
    /// (`futex_waitv`, the deadline as the kernel's timeout) runs on a worker of
    /// the library's waiting engine. Throws `CancellationError` when the task is
    /// cancelled first — the arrival is withdrawn, as at a deadline (`ETIMEDOUT`);
    /// a round that completed at that same moment is returned instead. The
    /// corresponding C function is `pthread_barrier_wait`.
    public func waitAsync(as participant: borrowing Participant, until deadline: Deadline = .distantFuture) async throws -> Arrival {
        try Task.checkCancellation()
        try check(participant, "pthread_barrier_wait")
        let operations = self.operations
        guard case .waiting(let generation) = try operations.arrive().get() else { return .serial }
        let ended: Result<Arrival, IPCError>?
        do {
            ended = try await WaitingEngine.wait { operations.awaitRound(generation, until: deadline, interruptible: true) }
        } catch {
            if try operations.withdraw(generation).get() == false { return .other }
            throw error
        }
        guard let ended else { throw operations.timedOut() }
        return try operations.finish(ended, generation).get()
    }

    /// `waitAsync(as:until:)` with a deadline `timeout` from now.
    public func waitAsync(as participant: borrowing Participant, timeout: Duration) async throws -> Arrival {
        try await waitAsync(as: participant, until: .after(timeout))
    }
}
