import Interprocess
import Synchronization

/// `shm-mutex-cond`: the `SharedMemoryRing` pair of `shm-posix-sem`, its counts
/// guarded by the library's robust process-shared mutex and condition variables
/// (`MappedMutex`, `MappedCondition`; SPEC Y4), as refbench's `shm_mutex_cv`:
/// per ring, one mutex and two conditions (not empty, not full). Taking a unit is
/// lock, wait on the condition until the count is above zero, decrement, unlock;
/// giving one is lock, increment, unlock, signal.
///
/// The parent creates the placed segment before the child exists and hands it the
/// memfd as descriptor 3 and a pipe's write end as descriptor 4 (the liveness
/// check of `SharedMemoryRing`), as `shm-posix-sem` does.
struct SharedMemoryMutexTransport: ~Copyable, BenchTransport {
    typealias Ring = SharedMemoryRing<MutexConditionRingSignals>

    static let name = "shm-mutex-cond"
    static let maximumMessageSize: Int? = Ring.maximumMessageSize

    let ring: Ring

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SharedMemoryMutexTransport {
        let size = peer.size
        let placement = try MutexRingLayout()
        let memory = try PosixSharedMemory.anonymous(size: placement.layout.size, label: "ipc-bench")
        let slots = Ring.slots(size: size)
        let segment = try PlacedMapping.create(placement.layout, in: memory.map())
        // Every slot starts free; the child does not exist yet.
        for ring in 0..<2 {
            let spaces = placement.signals.counts[RingCount(ring: ring, of: .spaces).index]
            do { try segment.withAtomic(spaces) { $0.store(UInt32(slots), ordering: .relaxed) } } catch let error as IPCError {
                throw error
            } catch {
                throw IPCError(.ioError, operation: "shm-mutex-cond", detail: "\(error)")
            }
        }
        let lifeline = try Pipe()
        try peer.inherit(memory.descriptor, as: 3)
        try peer.inherit(lifeline.writer.descriptor, as: 4)
        try peer.start(objects: [String(size)])
        return SharedMemoryMutexTransport(ring: Ring(
            segment: segment, rings: placement.rings, signals: placement.signals,
            size: size, initiator: true, liveness: lifeline.reader.descriptor))
    }

    static func responder(objects: [String]) throws(IPCError) -> SharedMemoryMutexTransport {
        guard let text = objects.first, let size = Int(text), size > 0, size <= maximumMessageSize! else {
            throw IPCError(.invalidArgument, operation: "shm-mutex-cond", detail: "the child needs the message size")
        }
        let memory = PosixSharedMemory(adopting: try OwnedDescriptor(inheritedNumber: 3))
        let placement = try MutexRingLayout()
        let segment = try PlacedMapping.open(placement.layout, in: memory.map(), until: .after(.seconds(10)))
        return SharedMemoryMutexTransport(ring: Ring(
            segment: segment, rings: placement.rings, signals: placement.signals,
            size: size, initiator: false, liveness: try OwnedDescriptor(inheritedNumber: 4)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try ring.send(message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try ring.receive(into: message) }
}

/// The segment of `shm-mutex-cond`: per ring a mutex, its two conditions and two
/// counts (items, spaces), then the two rings.
struct MutexRingLayout {
    var layout: SharedLayout
    var rings: [SharedPlace<SharedBytes>] = []
    var signals: MutexConditionRingSignals

    init() throws(IPCError) {
        layout = try SharedLayout(type: "ipc-bench.shm-mutex-cond", version: 1)
        var mutexes: [SharedPlace<MappedMutex>] = [], conditions: [SharedPlace<MappedCondition>] = []
        var counts: [SharedPlace<Atomic<UInt32>>] = []
        for _ in 0..<2 {
            mutexes.append(try layout.mutex(kind: .normal))
            conditions.append(try layout.condition())  // items: not empty
            conditions.append(try layout.condition())  // spaces: not full
            counts.append(try layout.atomic(UInt32.self))
            counts.append(try layout.atomic(UInt32.self))
        }
        for _ in 0..<2 {
            rings.append(try layout.bytes(count: SharedMemoryRing<MutexConditionRingSignals>.ringBytes, alignment: 64))
        }
        signals = MutexConditionRingSignals(mutexes: mutexes, conditions: conditions, counts: counts)
    }
}

/// The counts of a ring pair kept under a mutex per ring and waited for on a
/// condition per count (`RingCount.index`). A dead owner of a mutex leaves the
/// counts whole (each change is one store under the lock): the next locker marks
/// it consistent and goes on.
struct MutexConditionRingSignals: RingSignals {
    let mutexes: [SharedPlace<MappedMutex>]
    let conditions: [SharedPlace<MappedCondition>]
    let counts: [SharedPlace<Atomic<UInt32>>]

    @inline(__always)
    func tryTake(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool {
        try locked(count, in: segment) { _, _, value in
            guard value.load(ordering: .relaxed) > 0 else { return false }
            value.subtract(1, ordering: .relaxed)
            return true
        }
    }

    @inline(__always)
    func take(_ count: RingCount, until deadline: Deadline, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool {
        try locked(count, in: segment) { mutex, condition, value in
            do {
                while case .previousOwnerDied = try condition.wait(on: mutex, until: { value.load(ordering: .relaxed) > 0 }, deadline: deadline) {
                    try mutex.markConsistent()
                }
            } catch let error as IPCError where error.isTimeout { return false }
            value.subtract(1, ordering: .relaxed)
            return true
        }
    }

    @inline(__always)
    func give(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) {
        try locked(count, in: segment) { _, _, value in _ = value.add(1, ordering: .relaxed) }
        // Signalled after unlocking: the woken side does not find the mutex held.
        do { try segment.withCondition(conditions[count.index]) { try $0.signal() } } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.ioError, operation: "shm-mutex-cond", detail: "\(error)")
        }
    }

    /// Runs `body` with the ring's mutex held, the count's condition and value.
    @inline(__always)
    private func locked<R>(_ count: RingCount, in segment: borrowing PlacedMapping,
                           _ body: (borrowing MappedMutex, borrowing MappedCondition, borrowing Atomic<UInt32>) throws -> R) throws(IPCError) -> R {
        do {
            return try segment.withMutex(mutexes[count.ring]) { mutex in
                try segment.withCondition(conditions[count.index]) { condition in
                    try segment.withAtomic(counts[count.index]) { value in
                        if case .previousOwnerDied = try mutex.lock() { try mutex.markConsistent() }
                        let result: R
                        do { result = try body(mutex, condition, value) } catch {
                            try? mutex.unlock()
                            throw error
                        }
                        try mutex.unlock()
                        return result
                    }
                }
            }
        } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.ioError, operation: "shm-mutex-cond", detail: "\(error)")
        }
    }
}
