import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension MappedBarrier {
    /// Joins for the calling thread, runs `body` as that participant, and leaves
    /// after, whatever `body` does — so the presence lock is never left on the
    /// thread's robust list when the mapping goes away.
    public func withParticipant<R>(_ body: (borrowing Participant) throws -> R) throws -> R {
        let participant = try join()
        let result: R
        do { result = try body(participant) } catch {
            try? leave(participant)
            throw error
        }
        try leave(participant)
        return result
    }

    /// The async form of `withParticipant`: a task can resume on another thread
    /// after any `await`, and a participant is a thread, so a thread of the
    /// library's own (`LibraryThread`) joins, holds the presence lock while
    /// `body` runs — `body` waits with `waitAsync(as:)` — and leaves after. That
    /// thread only sleeps in between; when the process dies, so does it, and the
    /// kernel marks its presence lock. `EUSERS` when every slot is taken.
    public func withParticipantAsync<R: Sendable>(_ body: (borrowing Participant) async throws -> R) async throws -> R {
        let operations = self.operations
        let keeper = ParticipantKeeper()
        let joined: Result<Participant.Identity, IPCError> = await withSanitizedContinuation { joined in
            do throws(IPCError) {
                try LibraryThread.startDetached(name: "ipc-participant") {
                    let barrier = MappedBarrier(operations)
                    let participant: Participant
                    do throws(IPCError) { participant = try barrier.join() } catch {
                        joined.resume(returning: .failure(error))
                        return
                    }
                    joined.resume(returning: .success(Participant.Identity(slot: participant.slot, thread: participant.thread)))
                    let left = keeper.waitForRelease()
                    let outcome: Result<Void, IPCError>
                    do throws(IPCError) {
                        try barrier.leave(participant)
                        outcome = .success(())
                    } catch {
                        outcome = .failure(error)
                    }
                    left.resume(returning: outcome)
                }
            } catch {
                joined.resume(returning: .failure(error))
            }
        }
        let identity = try joined.get()
        let participant = Participant(slot: identity.slot, thread: identity.thread, barrier: UInt(bitPattern: operations.base))
        let result: Result<R, any Error>
        do { result = .success(try await body(participant)) } catch { result = .failure(error) }
        let left: Result<Void, IPCError> = await withSanitizedContinuation { keeper.release($0) }
        let value = try result.get()
        try left.get()
        return value
    }
}

extension MappedBarrier.Participant {
    struct Identity: Sendable {
        var slot: Int
        var thread: UInt32
    }
}

/// Where the thread holding an async participation sleeps until the task is done
/// with it, and the continuation it resumes once it has left.
final class ParticipantKeeper: @unchecked Sendable {
    private let flag: UnsafeMutablePointer<Atomic<UInt32>>
    private var left: UnsafeContinuation<Result<Void, IPCError>, Never>?

    init() {
        flag = .allocate(capacity: 1)
        flag.initialize(to: Atomic(0))
    }

    deinit {
        flag.deinitialize(count: 1)
        flag.deallocate()
    }

    private var word: UnsafeMutablePointer<UInt32> { UnsafeMutableRawPointer(flag).assumingMemoryBound(to: UInt32.self) }

    /// The task's side: hands over the continuation and wakes the thread.
    func release(_ continuation: UnsafeContinuation<Result<Void, IPCError>, Never>) {
        left = continuation
        flag.pointee.store(1, ordering: .releasing)
        _ = system_futex_wake(word, 1)
    }

    /// The thread's side: sleeps until `release`, then returns its continuation.
    func waitForRelease() -> UnsafeContinuation<Result<Void, IPCError>, Never> {
        while flag.pointee.load(ordering: .acquiring) == 0 {
            _ = system_futex_wait(word, 0, nil)
        }
        return left!
    }
}
