import Synchronization

/// Runs an async door procedure from its session's thread (SPEC R1): as a task,
/// the thread sleeping on a futex word until the task has finished — the session's
/// calls stay one at a time, in order, as with a blocking procedure.
enum DoorAsyncCall {
    enum Outcome: ~Copyable, Sendable {
        case success(DoorResult)
        case failure(any Error)
    }

    /// Where the task leaves its outcome; the word is 1 once it has.
    private final class Slot: @unchecked Sendable {
        let done = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        var request: DoorRequest?
        var outcome: Outcome?

        init(_ request: consuming DoorRequest) {
            done.initialize(to: 0)
            self.request = consume request
        }

        deinit { done.deallocate() }

        var atomicDone: UnsafeMutablePointer<Atomic<UInt32>> {
            UnsafeMutableRawPointer(done).assumingMemoryBound(to: Atomic<UInt32>.self)
        }
    }

    static func run(_ procedure: @escaping @Sendable (consuming DoorRequest) async throws -> DoorResult,
                    _ request: consuming DoorRequest) -> Outcome {
        let slot = Slot(request)
        Task {
            let outcome: Outcome
            do {
                outcome = .success(try await procedure(slot.request.take()!))
            } catch {
                outcome = .failure(error)
            }
            slot.outcome = consume outcome
            slot.atomicDone.pointee.store(1, ordering: .releasing)
            _ = try? Futex.wake(slot.done, count: 1)
        }
        while slot.atomicDone.pointee.load(ordering: .acquiring) == 0 {
            try? Futex.wait(slot.done, expecting: 0, until: nil)
        }
        return slot.outcome.take()!
    }
}
