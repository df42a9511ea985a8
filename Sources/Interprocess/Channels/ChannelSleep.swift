import CInterprocess
import Synchronization

/// How one end of a channel waits for the other (SPEC M5): the receiver for the
/// sender's tail to move (data), the sender for the receiver's head to move
/// (space). No system call on the hot path:
///
/// 1. spin a bounded number of times (`spins`, `defaultSpins` unless the end was
///    made with another `spinLimit`; 0: sleep at once), with the processor's pause hint,
///    reading the peer's index;
/// 2. then read the futex word's ticket, flag "asleep" in shared memory, read the
///    index again, and only if it is unchanged sleep on the word
///    (`futex(FUTEX_WAIT_BITSET)`) while it still holds the ticket.
///
/// The other end publishes its index, then reads the flag, and only when it is set
/// bumps the ticket and makes the one system call (`futex(FUTEX_WAKE)`, see
/// `wakeIfAsleep`). The flag store and index load here, the index store and flag
/// load there, are sequentially consistent: whichever comes first in their single
/// order, either this end sees the new index or that end sees the flag — and a
/// ticket bumped after this end read it makes the kernel refuse the sleep. No
/// wake-up is lost.
///
/// A sleeper wakes at least every 100 ms (like `PlacedMapping.open`) to check that
/// the peer is alive: a dead process wakes nobody. Then the wait throws `EPIPE`
/// naming it.
struct ChannelSleep: @unchecked Sendable {
    /// How many times this end checks the peer's index before it sleeps.
    let spins: Int
    /// The peer's published index: the wait ends when it differs from the one seen.
    let peerIndex: UnsafeMutablePointer<Atomic<UInt64>>
    /// The futex word this end sleeps on; the peer bumps it to wake it.
    let word: UnsafeMutablePointer<UInt32>
    /// This end's "asleep: wake me" flag.
    let asleep: UnsafeMutablePointer<Atomic<UInt32>>
    let peer: ChannelPeerRecord
    let object: String
    let operation: String

    static var defaultSpins: Int { SharedMemoryChannel.defaultSpinLimit }
    static let livenessInterval: Duration = .milliseconds(100)

    @inline(__always)
    func moved(from seen: UInt64) -> Bool { peerIndex.pointee.load(ordering: .acquiring) != seen }

    /// Waits until the peer's index is no longer `seen`. Throws `ETIMEDOUT` at
    /// `deadline`, `EPIPE` when the peer is gone.
    func wait(whileAt seen: UInt64, until deadline: Deadline) throws(IPCError) {
        for _ in 0..<spins {
            if moved(from: seen) { return }
            cipc_cpu_relax()
        }
        defer { asleep.pointee.store(0, ordering: .relaxed) }
        while true {
            guard let ticket = try prepareToSleep(seen, deadline) else { return }
            var sliceEnded = false
            do throws(IPCError) {
                try Futex.wait(word, expecting: ticket, until: min(deadline, .after(Self.livenessInterval)))
            } catch {
                if !error.isTimeout { throw error }
                sliceEnded = true
            }
            asleep.pointee.store(0, ordering: .relaxed)
            if moved(from: seen) { return }
            if sliceEnded { try peer.checkAlive(operation, object: object) }
        }
    }

    /// The async form of `wait(whileAt:until:)`: the sleep runs on a worker of the
    /// library's waiting engine (`Futex.waitAsync`), never on the cooperative
    /// pool; `CancellationError` promptly when the task is cancelled.
    func waitAsync(whileAt seen: UInt64, until deadline: Deadline) async throws {
        for _ in 0..<(spins / 10) {
            if moved(from: seen) { return }
            cipc_cpu_relax()
        }
        defer { asleep.pointee.store(0, ordering: .relaxed) }
        while true {
            guard let ticket = try prepareToSleep(seen, deadline) else { return }
            var sliceEnded = false
            do {
                try await Futex.waitAsync(word, expecting: ticket, until: min(deadline, .after(Self.livenessInterval)))
            } catch {
                guard let failure = error as? IPCError, failure.isTimeout else { throw error }
                sliceEnded = true
            }
            asleep.pointee.store(0, ordering: .relaxed)
            if moved(from: seen) { return }
            if sliceEnded { try peer.checkAlive(operation, object: object) }
        }
    }

    /// Reads the ticket, flags this end asleep and re-checks the index: nil when it
    /// moved (no sleep needed), else the ticket to sleep on. `ETIMEDOUT` at the
    /// deadline.
    private func prepareToSleep(_ seen: UInt64, _ deadline: Deadline) throws(IPCError) -> UInt32? {
        let ticket = ChannelRing.atomic(word).pointee.load(ordering: .sequentiallyConsistent)
        asleep.pointee.store(1, ordering: .sequentiallyConsistent)
        if peerIndex.pointee.load(ordering: .sequentiallyConsistent) != seen { return nil }
        if deadline != .distantFuture, deadline.hasPassed {
            throw IPCError(.timedOut, operation: operation, object: object,
                           detail: "the channel's \(peer.role) did not \(peer.role == "sender" ? "send" : "make room") before the deadline")
        }
        return ticket
    }

    /// Called by the other end after it published its index (sequentially
    /// consistent): when this end flagged itself asleep, bumps its ticket and wakes
    /// it (`futex(FUTEX_WAKE)`); otherwise no system call.
    @inline(__always)
    func wakeIfAsleep() throws(IPCError) {
        if asleep.pointee.load(ordering: .sequentiallyConsistent) == 0 { return }
        ChannelRing.atomic(word).pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        try Futex.wake(word, count: 1)
    }
}
