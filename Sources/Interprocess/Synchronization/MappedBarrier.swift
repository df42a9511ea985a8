import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// A barrier in shared memory for N participants — threads of any processes —
/// that tells exactly one waiter per round it is the serial one, and turns a
/// participant's death into an error naming it instead of a hang (SPEC Y7). The
/// library's crash-safe counterpart of `pthread_barrier_wait` with
/// `PTHREAD_PROCESS_SHARED`, whose `PTHREAD_BARRIER_SERIAL_THREAD` is `.serial` here.
///
/// A pthread barrier whose participant died waits for ever: it counts arrivals
/// and cannot tell a death from lateness. So participants here *join*: a thread
/// takes a participant slot (`join()`), holding that slot's robust presence lock
/// for as long as it takes part; the kernel marks the lock when the thread or its
/// process dies (`SIGKILL` included), and wakes a waiter. Waiters sleep on the
/// round *and* on every joined participant's presence lock (`futex_waitv`), so a
/// death while a round is incomplete breaks the barrier: every wait — now and
/// later — throws `EOWNERDEAD` naming the dead pid.
///
/// ```swift
/// var layout = try SharedLayout(type: "phases", version: 1)
/// let phase = try layout.barrier(participants: 3)
/// let placed = try PlacedMapping.open(layout, in: PosixSharedMemory.open("/phases").map(), until: .after(.seconds(5)))
/// try placed.withBarrier(phase) { barrier in
///     let me = try barrier.join()
///     for step in steps {
///         step()
///         if try barrier.wait(as: me, timeout: .seconds(30)).isSerial { merge() }
///     }
///     try barrier.leave(me)
/// }
/// ```
///
/// **Participants are threads.** The thread that joined holds the presence lock:
/// only it may `leave` (`EPERM` otherwise), and its exit counts as a death — join
/// from a thread that lives as long as the participation (not from a task, which
/// can resume on another thread). Waits may be made from any thread or task
/// (`waitAsync`). A participant that is dropped without `leave` keeps its slot
/// until its thread exits, which then breaks the barrier. The token holds no
/// pointer: every call goes through the `MappedBarrier` lent by `withBarrier`, so
/// nothing outlives the mapping.
///
/// **No `tryWait`.** A barrier wait that does not wait would either count an
/// arrival and leave (letting the round complete without this participant
/// waiting for the others) or count nothing (and say nothing): neither is a
/// barrier. The time-bounded forms, which withdraw the arrival at the deadline,
/// are the non-blocking answer (`wait(as:until:)` with a deadline now).
///
/// **A broken barrier stays broken**: there is no reset. Telling the waiters still
/// on their way out of a broken round from new arrivals would need a count of
/// waiters, which a waiter killed at the wrong moment leaves wrong (the glibc
/// condition variable's bug 21422). Make a new barrier.
public struct MappedBarrier: ~Copyable, @unchecked Sendable {
    let operations: BarrierOperations

    init(_ operations: BarrierOperations) { self.operations = operations }

    /// What a wait tells: exactly one waiter per round is the serial one (the
    /// last to arrive, `PTHREAD_BARRIER_SERIAL_THREAD`); the others are `.other`.
    public enum Arrival: Equatable, Sendable {
        case serial
        case other

        public var isSerial: Bool { self == .serial }
    }

    /// A joined participant: the slot its thread holds. Use it with this barrier's
    /// `wait(as:)` and give it back with `leave(_:)`.
    public struct Participant: ~Copyable, Sendable {
        /// The participant slot, 0..<participants.
        public let slot: Int
        /// The thread that joined (and holds the presence lock).
        let thread: UInt32
        /// The barrier it joined (the address of its round word).
        let barrier: UInt
    }

    /// How many participants complete a round.
    public var participants: Int { operations.participants }

    /// Takes a free participant slot for the calling thread. When none is free, a
    /// slot whose holder died is taken over (if a round had begun, it breaks,
    /// naming the dead pid: the dead one may have arrived in it). `EUSERS` when all
    /// are taken.
    public func join() throws(IPCError) -> Participant {
        var failure: IPCError?
        let slots = 0..<operations.participants
        for slot in slots.filter({ !operations.holder($0).died }) + slots.filter({ operations.holder($0).died }) {
            let presence = operations.presence(slot)
            switch presence.attempt(slept: false) {
            case nil: continue
            case .success(.acquired)?: return participant(slot)
            case .success(.previousOwnerDied(let pid))?:
                do throws(IPCError) { try presence.markConsistent() } catch {
                    try? presence.release()
                    failure = error
                    continue
                }
                operations.breakIfRoundBegun(dead: pid)
                return participant(slot)
            case .failure(let error)?:
                // EDEADLK: this thread holds that slot already (it may join twice).
                if error.errno != .deadlock { failure = error }
            }
        }
        throw failure ?? IPCError(.tooManyUsers, operation: "MappedBarrier.join", object: operations.object,
                                  detail: "all \(operations.participants) participant slots are taken")
    }

    private func participant(_ slot: Int) -> Participant {
        Participant(slot: slot, thread: UInt32(bitPattern: cipc_cached_tid()), barrier: UInt(bitPattern: operations.base))
    }

    /// Gives the slot back. Only the thread that joined may (`EPERM`).
    public func leave(_ participant: consuming Participant) throws(IPCError) {
        try check(participant, "MappedBarrier.leave")
        if participant.thread != UInt32(bitPattern: cipc_cached_tid()) {
            throw IPCError(.notPermitted, operation: "MappedBarrier.leave", object: operations.object,
                           detail: "only the thread that joined can leave (it holds the participant's presence lock)")
        }
        try operations.presence(participant.slot).release()
    }

    /// Arrives and waits until every participant has arrived in this round:
    /// `.serial` for exactly one of them. Throws `EOWNERDEAD` naming the pid when a
    /// participant died before the round completed (and for every wait after).
    /// The corresponding C function is `pthread_barrier_wait`.
    public func wait(as participant: borrowing Participant) throws(IPCError) -> Arrival {
        try wait(participant, until: .distantFuture)
    }

    /// `wait(as:)` giving up at `deadline`: throws `ETIMEDOUT` and withdraws this
    /// arrival, so it never lets a later round complete early (when the round
    /// completes at that same moment, the wait succeeds instead).
    public func wait(as participant: borrowing Participant, until deadline: Deadline) throws(IPCError) -> Arrival {
        try wait(participant, until: deadline)
    }

    /// `wait(as:until:)` with a deadline `timeout` from now.
    public func wait(as participant: borrowing Participant, timeout: Duration) throws(IPCError) -> Arrival {
        try wait(participant, until: .after(timeout))
    }

    private func wait(_ participant: borrowing Participant, until deadline: Deadline) throws(IPCError) -> Arrival {
        try check(participant, "pthread_barrier_wait")
        guard case .waiting(let generation) = try operations.arrive().get() else { return .serial }
        let ended = operations.awaitRound(generation, until: deadline, interruptible: false)!
        return try operations.finish(ended, generation).get()
    }

    /// Throws `EINVAL` unless `participant` joined this barrier and its thread
    /// still holds the presence lock.
    func check(_ participant: borrowing Participant, _ operation: String) throws(IPCError) {
        guard participant.barrier == UInt(bitPattern: operations.base), participant.slot >= 0,
              participant.slot < operations.participants else {
            throw IPCError(.invalidArgument, operation: operation, object: operations.object,
                           detail: "the participant joined another barrier")
        }
        let holder = operations.holder(participant.slot)
        if holder.died || holder.thread != participant.thread {
            throw IPCError(.invalidArgument, operation: operation, object: operations.object,
                           detail: "participant slot \(participant.slot) is no longer held by the thread that joined (it exited, or the memory was overwritten)")
        }
    }

    // MARK: placing

    /// Zeroes the barrier and initialises every presence lock.
    static func initialise(_ mapping: borrowing MemoryMapping, _ part: SharedLayoutPart) throws(IPCError) {
        try mapping.write([UInt8](repeating: 0, count: part.size), at: part.offset)
        for slot in 0..<Int(part.initialValue) {
            let start = try mapping.typedAddress("pthread_mutex_init", pthread_mutex_t.self,
                                                 offset: part.offset + BarrierOperations.headerSize + slot * BarrierOperations.slotStride,
                                                 writing: true)
            try MutexOperations.initialise(start, kind: .errorChecking, object: mapping.label)
        }
    }
}

extension SharedLayout {
    /// Places a crash-safe barrier for `participants` (1...127, else `EINVAL`: a
    /// waiter sleeps on the round word and on every participant's presence lock,
    /// and `futex_waitv` takes at most 128 words) (SPEC Y7). Use it with
    /// `PlacedMapping.withBarrier(_:_:)`.
    public mutating func barrier(participants: Int) throws(IPCError) -> SharedPlace<MappedBarrier> {
        guard (1...BarrierOperations.maximumParticipants).contains(participants) else {
            throw IPCError(.invalidArgument, operation: "SharedLayout.barrier", object: "\"\(type)\"",
                           detail: "a barrier has 1 to \(BarrierOperations.maximumParticipants) participants (asked for \(participants))")
        }
        return try add(.barrier, size: BarrierOperations.size(participants: participants),
                       alignment: BarrierOperations.headerSize, initialValue: UInt64(participants))
    }
}

extension PlacedMapping {
    /// Lends `body` the barrier at `place`. Throws `EINVAL` for a place of another
    /// layout, `EACCES` for a mapping that is not readable and writable.
    public func withBarrier<R>(_ place: SharedPlace<MappedBarrier>, _ body: (borrowing MappedBarrier) throws -> R) throws -> R {
        let barrier = try placedBarrier(place)
        let result: R
        do { result = try body(barrier) } catch {
            try mapping.checkAfterAccess("withBarrier")
            throw error
        }
        try mapping.checkAfterAccess("withBarrier")
        return result
    }

    /// Lends `body` the barrier at `place` for async use (`waitAsync`).
    public func withBarrier<R>(_ place: SharedPlace<MappedBarrier>, _ body: (borrowing MappedBarrier) async throws -> R) async throws -> R {
        let barrier = try placedBarrier(place)
        let result: R
        do { result = try await body(barrier) } catch {
            try mapping.checkAfterAccess("withBarrier")
            throw error
        }
        try mapping.checkAfterAccess("withBarrier")
        return result
    }

    private func placedBarrier(_ place: SharedPlace<MappedBarrier>) throws(IPCError) -> MappedBarrier {
        try layout.check(place, .barrier, operation: "withBarrier")
        let start = try mapping.placedObjectAddress("withBarrier", place, alignment: BarrierOperations.headerSize)
        let participants = (place.size - BarrierOperations.headerSize) / BarrierOperations.slotStride
        return MappedBarrier(BarrierOperations(base: start, participants: participants, object: mapping.label))
    }
}
