import Interprocess

/// `shm-posix-sem`: the `SharedMemoryRing` pair in one anonymous shared memory
/// object, signalled by process-shared POSIX semaphores in the object's header.
///
/// Layout: `SharedMemoryRingLayout` with the four semaphores. The parent creates
/// the placed segment (initialising the semaphores once) before the child exists
/// and hands it the memfd as descriptor 3, and the write end of a pipe as
/// descriptor 4: the pipe reads as end of file once the child is gone, which is
/// how a waiting parent notices a dead peer.
struct SharedMemorySemaphoreTransport: ~Copyable, BenchTransport {
    typealias Ring = SharedMemoryRing<PosixSemaphoreRingSignals>

    static let name = "shm-posix-sem"
    static let maximumMessageSize: Int? = Ring.maximumMessageSize

    let ring: Ring

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SharedMemorySemaphoreTransport {
        let size = peer.size
        let placement = try SharedMemoryRingLayout(mechanism: Self.name, semaphoresFor: Ring.slots(size: size))
        let memory = try PosixSharedMemory.anonymous(size: placement.layout.size, label: "ipc-bench")
        let segment = try PlacedMapping.create(placement.layout, in: memory.map())
        let lifeline = try Pipe()
        try peer.inherit(memory.descriptor, as: 3)
        try peer.inherit(lifeline.writer.descriptor, as: 4)
        try peer.start(objects: [String(size)])
        return SharedMemorySemaphoreTransport(ring: Ring(
            segment: segment, rings: placement.rings, signals: PosixSemaphoreRingSignals(semaphores: placement.semaphores),
            size: size, initiator: true, liveness: lifeline.reader.descriptor))
    }

    static func responder(objects: [String]) throws(IPCError) -> SharedMemorySemaphoreTransport {
        guard let text = objects.first, let size = Int(text), size > 0, size <= maximumMessageSize! else {
            throw IPCError(.invalidArgument, operation: "shm-posix-sem", detail: "the child needs the message size")
        }
        let memory = PosixSharedMemory(adopting: try OwnedDescriptor(inheritedNumber: 3))
        let placement = try SharedMemoryRingLayout(mechanism: Self.name, semaphoresFor: Ring.slots(size: size))
        let segment = try PlacedMapping.open(placement.layout, in: memory.map(), until: .after(.seconds(10)))
        return SharedMemorySemaphoreTransport(ring: Ring(
            segment: segment, rings: placement.rings, signals: PosixSemaphoreRingSignals(semaphores: placement.semaphores),
            size: size, initiator: false, liveness: try OwnedDescriptor(inheritedNumber: 4)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try ring.send(message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try ring.receive(into: message) }
}

/// The signals of `shm-posix-sem`: four process-shared POSIX semaphores placed in
/// the segment (`SharedMemoryRingLayout.semaphores`, `RingCount.index` each).
/// `sem_trywait`, `sem_clockwait` and `sem_post` through `MappedSemaphore`.
struct PosixSemaphoreRingSignals: RingSignals {
    let semaphores: [SharedPlace<MappedSemaphore>]

    @inline(__always)
    func tryTake(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool {
        try using(count, in: segment) { try $0.tryWait() }
    }

    @inline(__always)
    func take(_ count: RingCount, until deadline: Deadline, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool {
        try using(count, in: segment) { semaphore in
            do { try semaphore.wait(until: deadline) } catch let error as IPCError where error.isTimeout { return false }
            return true
        }
    }

    @inline(__always)
    func give(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) {
        try using(count, in: segment) { try $0.post() }
    }

    /// `withSemaphore(_:)` with the semaphore of `count`; its untyped throws
    /// carry only `IPCError` here.
    @inline(__always)
    private func using<R>(_ count: RingCount, in segment: borrowing PlacedMapping,
                          _ body: (borrowing MappedSemaphore) throws -> R) throws(IPCError) -> R {
        do {
            return try segment.withSemaphore(semaphores[count.index], body)
        } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.ioError, operation: "withSemaphore", detail: "\(error)")
        }
    }
}
