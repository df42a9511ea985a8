import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

#if _endian(big)
#error("the barrier's futex word is the low half of its 64-bit round word: little-endian only")
#endif

/// The protocol of a `MappedBarrier` over its memory (SPEC Y7; Synchronization/README.md,
/// "Barrier"):
///
/// - a 64-bit **round word**: its low half is the futex word waiters sleep on —
///   bits 0–6 the arrivals of this round (0...126), bit 7 *broken*, bits 8–31 the
///   generation —, its high half the pid of the participant whose death broke the
///   barrier. Every arrival, withdrawal, completion and break is one
///   compare-and-swap on it, so a waiter never sleeps on a value that is stale.
/// - N **participant slots**, each a robust error-checking mutex — the presence
///   lock — held by the thread that joined for as long as it takes part, so the
///   kernel marks it `FUTEX_OWNER_DIED` (and wakes a sleeper when
///   `FUTEX_WAITERS` is set) when that thread or its process dies. The pid in the
///   mutex's owner word names the participant.
struct BarrierOperations: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let participants: Int
    let object: String

    static let headerSize = 64
    static let slotStride = 64
    static let maximumParticipants = Int(CIPC_FUTEX_WAITV_MAX) - 1

    static let arrivalsMask: UInt32 = 0x7f
    static let brokenBit: UInt32 = 0x80
    static let generationUnit: UInt32 = 0x100
    static let lowHalf: UInt64 = 0xffff_ffff

    /// Bytes of a barrier of `participants`.
    static func size(participants: Int) -> Int { headerSize + participants * slotStride }

    var round: UnsafeMutablePointer<Atomic<UInt64>> { base.assumingMemoryBound(to: Atomic<UInt64>.self) }
    var futexWord: UnsafeMutablePointer<UInt32> { base.assumingMemoryBound(to: UInt32.self) }

    func presence(_ slot: Int) -> MutexOperations {
        MutexOperations(base + Self.headerSize + slot * Self.slotStride, object: object)
    }

    private func presenceWord(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(presence(slot).word).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The pid recorded by the presence lock's last owner, when it can be one.
    private func participantPID(_ slot: Int) -> Int32? {
        let owner = UnsafeMutableRawPointer(presence(slot).ownerWord).assumingMemoryBound(to: Atomic<UInt32>.self)
        return MappedSpinLock.validID(owner.pointee.load(ordering: .relaxed))
    }

    /// The thread id holding a presence lock now (0: free), and whether its owner died.
    func holder(_ slot: Int) -> (thread: UInt32, died: Bool) {
        let word = presenceWord(slot).pointee.load(ordering: .acquiring)
        return (word & MutexOperations.threadMask, word & MutexOperations.ownerDiedBit != 0)
    }

    // MARK: arriving

    enum Arrived {
        case serial
        case waiting(generation: UInt32)
    }

    /// Counts this arrival: the one that makes N completes the round (resets the
    /// count, bumps the generation, wakes every sleeper) and is the serial one.
    func arrive() -> Result<Arrived, IPCError> {
        while true {
            let value = round.pointee.load(ordering: .acquiring)
            let low = UInt32(truncatingIfNeeded: value)
            if low & Self.brokenBit != 0 { return .failure(brokenError(value)) }
            let arrivals = Int(low & Self.arrivalsMask)
            if arrivals >= participants {
                return .failure(IPCError(.invalidArgument, operation: "pthread_barrier_wait", object: object,
                                         detail: "the barrier's memory counts \(arrivals) arrivals for \(participants) participants: it was overwritten"))
            }
            if arrivals + 1 == participants {
                let next = (low & ~Self.arrivalsMask) &+ Self.generationUnit
                let desired = value & ~Self.lowHalf | UInt64(next)
                if round.pointee.compareExchange(expected: value, desired: desired, ordering: .acquiringAndReleasing).exchanged {
                    _ = system_futex_wake(futexWord, Int32.max)
                    return .success(.serial)
                }
            } else if round.pointee.compareExchange(expected: value, desired: value + 1, ordering: .acquiringAndReleasing).exchanged {
                return .success(.waiting(generation: low >> 8))
            }
        }
    }

    // MARK: waiting

    /// Waits until the round of `generation` completes (`.other`), the barrier
    /// breaks (`EOWNERDEAD` naming the dead participant), or `deadline` passes
    /// (`ETIMEDOUT`; the arrival is still counted: the caller withdraws it). A
    /// signal (`EINTR`) returns nil when `interruptible`, else the wait goes on.
    func awaitRound(_ generation: UInt32, until deadline: Deadline, interruptible: Bool) -> Result<MappedBarrier.Arrival, IPCError>? {
        // Woken by a presence lock: its owner may have completed the round and died
        // before waking the others, and the kernel wakes only one sleeper of that
        // word — so pass the wake on.
        var forward = false
        defer { if forward { _ = system_futex_wake(futexWord, Int32.max) } }
        return withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt32>?.self, capacity: participants + 1) { words in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: participants + 1) { values in
                while true {
                    let value = round.pointee.load(ordering: .acquiring)
                    let low = UInt32(truncatingIfNeeded: value)
                    if low >> 8 != generation { return .success(.other) }
                    if low & Self.brokenBit != 0 { return .failure(brokenError(value)) }
                    words[0] = futexWord
                    values[0] = low
                    guard let count = watchPresence(words, values, seen: value) else { continue }
                    if case .failure(let broken) = count { return .failure(broken) }
                    guard case .success(let watched) = count else { continue }
                    switch sleep(words, values, 1 + watched, deadline) {
                    case .woken(let index): if index > 0 { forward = true }
                    case .again: break
                    case .interrupted: if interruptible { return nil }
                    case .timedOut: return .failure(timedOut())
                    case .failed(let error): return .failure(error)
                    }
                }
            }
        }
    }

    /// Fills `words` and `values` from index 1 with the presence lock of every
    /// joined participant (setting `FUTEX_WAITERS` on it first, so its death wakes
    /// a sleeper). A dead one breaks the barrier (the failure); nil when the round
    /// word or a presence word changed meanwhile (look again).
    private func watchPresence(_ words: UnsafeMutableBufferPointer<UnsafeMutablePointer<UInt32>?>,
                               _ values: UnsafeMutableBufferPointer<UInt32>, seen value: UInt64) -> Result<Int, IPCError>? {
        var watched = 0
        for slot in 0..<participants {
            let word = presenceWord(slot)
            let observed = word.pointee.load(ordering: .acquiring)
            if observed & MutexOperations.ownerDiedBit != 0 {
                return breakBarrier(seen: value, dead: participantPID(slot)).map { .failure($0) }
            }
            if observed & MutexOperations.threadMask == 0 { continue }
            var expected = observed
            if observed & MutexOperations.waitersBit == 0 {
                expected = observed | MutexOperations.waitersBit
                guard word.pointee.compareExchange(expected: observed, desired: expected, ordering: .relaxed).exchanged else { return nil }
            }
            watched += 1
            words[watched] = presence(slot).word
            values[watched] = expected
        }
        return .success(watched)
    }

    /// Marks the round `seen` broken by `dead`'s death and wakes everyone: the
    /// error to throw, or nil when the round word changed first (look again).
    private func breakBarrier(seen value: UInt64, dead pid: Int32?) -> IPCError? {
        let desired = UInt64(UInt32(bitPattern: pid ?? 0)) << 32 | (value & Self.lowHalf) | UInt64(Self.brokenBit)
        guard round.pointee.compareExchange(expected: value, desired: desired, ordering: .acquiringAndReleasing).exchanged else { return nil }
        _ = system_futex_wake(futexWord, Int32.max)
        return brokenError(desired)
    }

    /// At a join that took over the presence lock of a participant that died:
    /// when a round has begun, the dead one may have arrived in it, and its slot's
    /// new owner would be counted twice — so that round breaks, naming it.
    func breakIfRoundBegun(dead pid: Int32?) {
        while true {
            let value = round.pointee.load(ordering: .acquiring)
            let low = UInt32(truncatingIfNeeded: value)
            if low & Self.brokenBit != 0 || low & Self.arrivalsMask == 0 { return }
            if breakBarrier(seen: value, dead: pid) != nil { return }
        }
    }

    // MARK: withdrawing

    /// After a wait that ended without its round (deadline, cancellation, a
    /// failure): takes the arrival back, so it cannot complete a later round
    /// early. true: withdrawn; false: the round completed meanwhile — the wait
    /// succeeded after all. The broken barrier's error when it broke.
    func withdraw(_ generation: UInt32) -> Result<Bool, IPCError> {
        while true {
            let value = round.pointee.load(ordering: .acquiring)
            let low = UInt32(truncatingIfNeeded: value)
            if low >> 8 != generation { return .success(false) }
            if low & Self.brokenBit != 0 { return .failure(brokenError(value)) }
            if low & Self.arrivalsMask == 0 {
                return .failure(IPCError(.invalidArgument, operation: "pthread_barrier_wait", object: object,
                                         detail: "the barrier's memory counts no arrival to withdraw: it was overwritten"))
            }
            if round.pointee.compareExchange(expected: value, desired: value - 1, ordering: .acquiringAndReleasing).exchanged {
                return .success(true)
            }
        }
    }

    /// The end of a wait that `awaitRound` returned: a failure other than the
    /// barrier's break withdraws the arrival (and becomes `.other` when the round
    /// completed meanwhile).
    func finish(_ ended: Result<MappedBarrier.Arrival, IPCError>, _ generation: UInt32) -> Result<MappedBarrier.Arrival, IPCError> {
        guard case .failure(let error) = ended, error.errno != .previousOwnerDied else { return ended }
        switch withdraw(generation) {
        case .success(true): return .failure(error)
        case .success(false): return .success(.other)
        case .failure(let broken): return .failure(broken)
        }
    }

    // MARK: errors

    func brokenError(_ value: UInt64) -> IPCError {
        let pid = MappedSpinLock.validID(UInt32(truncatingIfNeeded: value >> 32))
        let who = pid.map { "participant pid \($0)" } ?? "a participant (its pid was not recorded)"
        return IPCError(.previousOwnerDied, operation: "pthread_barrier_wait", object: object,
                        detail: "\(who) died before the round completed; the barrier stays broken")
    }

    func timedOut() -> IPCError {
        IPCError(.timedOut, operation: "pthread_barrier_wait", object: object,
                 detail: "not every participant arrived before the deadline (this arrival was withdrawn)")
    }
}
