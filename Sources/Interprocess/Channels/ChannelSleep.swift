import CInterprocess
import Synchronization

/// A futex word one end sleeps on, its "asleep: wake me" flag, and its
/// "barrier" word (SPEC M5): the receiver's data word (every producer rings it), or
/// a producer's space word (the receiver rings it).
///
/// Waking needs the waker's index store and flag load, and the sleeper's flag
/// store and index load, to be ordered across processors (store, then load, on
/// both sides): otherwise each can miss the other's write. The plain way is a full
/// fence on both sides — on the waker's side that is one per message, the hot
/// path's largest cost (it waits for every store of the message to reach the
/// cache). So a sleeper that can, does all the work itself: before it sleeps it
/// runs `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`, which makes every running
/// thread of every process registered for it execute a full barrier — the waker's
/// included — and says so in its barrier word. A waker registered for those
/// barriers (`fenceFree`), seeing the barrier word set, then publishes with a
/// plain releasing store and reads the flag with no fence: either its store came
/// before the barrier it was made to run, and the sleeper's later load sees it; or
/// its load comes after, and sees the flag the sleeper stored before the call.
/// Otherwise (a waker not registered, a sleeper that does not use membarrier —
/// ends that sleep at once, `spinning: .zero`, skip its cost) both sides fence.
struct ChannelBell: @unchecked Sendable {
    let word: UnsafeMutablePointer<UInt32>
    let asleep: UnsafeMutablePointer<Atomic<UInt32>>
    /// 1 while the sleeping side runs membarrier before it sleeps.
    let barrier: UnsafeMutablePointer<Atomic<UInt32>>

    var atomicWord: UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// Publishes `value` in `index` (the waker's tail or head), then — when the
    /// sleeper flagged itself asleep — bumps its ticket and wakes it
    /// (`futex(FUTEX_WAKE)`); otherwise no system call. `fenceFree`: this process
    /// is registered for membarrier's barriers.
    @inline(__always)
    func publish(_ value: UInt64, to index: UnsafeMutablePointer<Atomic<UInt64>>, fenceFree: Bool) throws(IPCError) {
        if fenceFree && barrier.pointee.load(ordering: .relaxed) != 0 {
            index.pointee.store(value, ordering: .releasing)
            cipc_compiler_barrier()
            if asleep.pointee.load(ordering: .relaxed) == 0 { return }
        } else {
            index.pointee.store(value, ordering: .sequentiallyConsistent)
            if asleep.pointee.load(ordering: .sequentiallyConsistent) == 0 { return }
        }
        atomicWord.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        try Futex.wake(word, count: Int32.max)
    }

    /// Whether the sleeping side will run membarrier before it sleeps: written by
    /// that side when it attaches (`registered`: its process registered; `spinning`:
    /// it spins before sleeping, so a sleep is rare enough to pay for the call).
    func announce(registered: Bool, spinning: UInt64) {
        barrier.pointee.store(registered && spinning > 0 ? 1 : 0, ordering: .sequentiallyConsistent)
    }
}

/// How one end of a channel waits for the other (SPEC M5): the receiver for a
/// producer's tail to move (data), a producer for the receiver's head to move
/// (space). No system call on the hot path:
///
/// 1. spin for a bounded time (`spinning` nanoseconds, read on the monotonic
///    clock every 64 turns: 20 µs unless the end was made with another
///    `spinning`; 0: sleep at once), with the processor's pause hint, checking the
///    peer's indices;
/// 2. then read the futex word's ticket, flag "asleep" in shared memory, check the
///    indices again, and only if none moved sleep on the word
///    (`futex(FUTEX_WAIT_BITSET)`) while it still holds the ticket.
///
/// The other end publishes its index, then reads the flag, and only when it is set
/// bumps the ticket and makes the one system call (`ChannelBell.wakeIfAsleep`).
/// The flag store and index load here, the index store and flag load there, are
/// sequentially consistent: whichever comes first in their single order, either
/// this end sees the new index or that end sees the flag — and a ticket bumped
/// after this end read it makes the kernel refuse the sleep. No wake-up is lost.
///
/// A sleeper wakes at least every 100 ms (like `PlacedMapping.open`) to check that
/// its peers are alive: a dead process wakes nobody. When every peer that attached
/// is gone (the receiver; or every producer), the wait throws `EPIPE` naming one.
struct ChannelSleep: @unchecked Sendable {
    /// How long this end spins before it sleeps, in nanoseconds.
    let spinning: UInt64
    let bell: ChannelBell
    /// The other side: the receiver, or every producer.
    let peers: [ChannelPeerRecord]
    let object: String
    let operation: String

    /// `duration` in nanoseconds (0 for a negative one, at most about 584 years).
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// Spins until `moved()` or for `nanoseconds`: true when the peer moved.
    @inline(__always)
    static func spin(for nanoseconds: UInt64, _ moved: () -> Bool) -> Bool {
        if nanoseconds == 0 { return false }
        let start = Deadline.now.nanoseconds
        while true {
            for _ in 0..<64 {
                if moved() { return true }
                cipc_cpu_relax()
            }
            if Deadline.now.nanoseconds &- start >= nanoseconds { return false }
        }
    }
    static let livenessInterval: Duration = .milliseconds(100)

    /// Waits until `moved()` (an index of a peer differs from the one seen).
    /// Throws `ETIMEDOUT` at `deadline`, `EPIPE` when the peers are gone.
    @inline(__always)
    func wait(until deadline: Deadline, _ moved: () -> Bool) throws(IPCError) {
        if Self.spin(for: spinning, moved) { return }
        try sleep(until: deadline, moved)
    }

    private func sleep(until deadline: Deadline, _ moved: () -> Bool) throws(IPCError) {
        defer { bell.asleep.pointee.store(0, ordering: .relaxed) }
        while true {
            guard let ticket = try prepareToSleep(deadline, moved) else { return }
            var sliceEnded = false
            do throws(IPCError) {
                try Futex.wait(bell.word, expecting: ticket, until: min(deadline, .after(Self.livenessInterval)))
            } catch {
                if !error.isTimeout { throw error }
                sliceEnded = true
            }
            bell.asleep.pointee.store(0, ordering: .relaxed)
            if moved() { return }
            if sliceEnded { try ChannelPeerRecord.checkAnyAlive(peers, operation, object: object) }
        }
    }

    /// The async form of `wait(until:_:)`: the sleep runs on a worker of the
    /// library's waiting engine (`Futex.waitAsync`), never on the cooperative
    /// pool; `CancellationError` promptly when the task is cancelled.
    func waitAsync(until deadline: Deadline, _ moved: () -> Bool) async throws {
        // A tenth of the spin: the task holds a thread of the cooperative pool.
        if Self.spin(for: spinning / 10, moved) { return }
        defer { bell.asleep.pointee.store(0, ordering: .relaxed) }
        while true {
            guard let ticket = try prepareToSleep(deadline, moved) else { return }
            var sliceEnded = false
            do {
                try await Futex.waitAsync(bell.word, expecting: ticket, until: min(deadline, .after(Self.livenessInterval)))
            } catch {
                guard let failure = error as? IPCError, failure.isTimeout else { throw error }
                sliceEnded = true
            }
            bell.asleep.pointee.store(0, ordering: .relaxed)
            if moved() { return }
            if sliceEnded { try ChannelPeerRecord.checkAnyAlive(peers, operation, object: object) }
        }
    }

    /// Reads the ticket, flags this end asleep and checks the indices again: nil
    /// when one moved (no sleep needed), else the ticket to sleep on. `ETIMEDOUT`
    /// at the deadline.
    private func prepareToSleep(_ deadline: Deadline, _ moved: () -> Bool) throws(IPCError) -> UInt32? {
        let ticket = bell.atomicWord.pointee.load(ordering: .sequentiallyConsistent)
        bell.asleep.pointee.store(1, ordering: .sequentiallyConsistent)
        if bell.barrier.pointee.load(ordering: .relaxed) != 0, !Membarrier.barrierOnRegisteredProcesses() {
            // Wakers may skip their fence only while this call works: from now on
            // they fence (a wake-up missed before they see this is caught by the
            // 100 ms liveness slice).
            bell.barrier.pointee.store(0, ordering: .sequentiallyConsistent)
        }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if moved() { return nil }
        if deadline != .distantFuture, deadline.hasPassed {
            let waitingFor = peers.count == 1 ? "\(peers[0].role) did not" : "producers did not"
            throw IPCError(.timedOut, operation: operation, object: object,
                           detail: "the channel's \(waitingFor) \(peers[0].role == .receiver ? "make room" : "send") before the deadline")
        }
        return ticket
    }
}
