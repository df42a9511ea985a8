import Interprocess

/// `shm-sysv-sem`: the `SharedMemoryRing` pair in a System V shared memory
/// segment, signalled by one System V semaphore set of four members — for each
/// ring, `items` (slots filled) and `spaces` (slots free).
///
/// Both objects are private (`IPC_PRIVATE`); their ids go to the child as
/// arguments. The segment is marked for removal as soon as the parent has
/// attached it (Linux still lets the child attach it by id), so it goes away
/// with the last process attached whatever happens; the semaphore set is in the
/// parent's ledger, which removes it after the run, on a signal, or — after
/// SIGKILL — at the start of the next bench. The write end of a pipe, descriptor 3
/// in the child, reads as end of file in the parent once the child is gone.
struct SharedMemorySystemVSemaphoreTransport: ~Copyable, BenchTransport {
    typealias Ring = SharedMemoryRing<SystemVSemaphoreRingSignals>

    static let name = "shm-sysv-sem"
    static let maximumMessageSize: Int? = Ring.maximumMessageSize

    let ring: Ring

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SharedMemorySystemVSemaphoreTransport {
        let size = peer.size
        let slots = Ring.slots(size: size)
        let placement = try SharedMemoryRingLayout(mechanism: Self.name, semaphoresFor: nil)
        let segment = try peer.ledger.make({ () throws(IPCError) in try SystemVSharedMemory.create(size: placement.layout.size) },
                                           recordedAs: { .systemV(.sharedMemory, $0.id) })
        let attachment: SystemVSharedMemory.Attachment
        do throws(IPCError) { attachment = try segment.attach() } catch {
            try? segment.remove()
            throw error
        }
        try segment.remove()
        let lifeline = try Pipe()
        try peer.inherit(lifeline.writer.descriptor, as: 3)
        let semaphores = try peer.ledger.make({ () throws(IPCError) in
            try SystemVSemaphoreSet.create(key: .private, count: 4, initialValues: SystemVSemaphoreRingSignals.initialValues(slots: slots))
        }, recordedAs: { .systemV(.semaphoreSet, $0.id) })
        let transport = SharedMemorySystemVSemaphoreTransport(ring: Ring(
            segment: try PlacedMapping.create(placement.layout, in: attachment.mapping), rings: placement.rings, signals: SystemVSemaphoreRingSignals(set: semaphores),
            size: size, initiator: true, liveness: lifeline.reader.descriptor))
        try peer.start(objects: [String(size), String(segment.id), String(semaphores.id)])
        return transport
    }

    static func responder(objects: [String]) throws(IPCError) -> SharedMemorySystemVSemaphoreTransport {
        guard objects.count == 3, let size = Int(objects[0]), size > 0, size <= maximumMessageSize!,
              let segmentID = Int32(objects[1]), let setID = Int32(objects[2]) else {
            throw IPCError(.invalidArgument, operation: name, detail: "the child needs the message size and both ids")
        }
        let attachment = try SystemVSharedMemory(id: segmentID).attach()
        let semaphores = try SystemVSemaphoreSet(id: setID)
        let placement = try SharedMemoryRingLayout(mechanism: Self.name, semaphoresFor: nil)
        return SharedMemorySystemVSemaphoreTransport(ring: Ring(
            segment: try PlacedMapping.open(placement.layout, in: attachment.mapping, until: .after(.seconds(10))),
            rings: placement.rings, signals: SystemVSemaphoreRingSignals(set: semaphores),
            size: size, initiator: false, liveness: try OwnedDescriptor(inheritedNumber: 3)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try ring.send(message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try ring.receive(into: message) }
}

/// The signals of `shm-sysv-sem`: the members of one System V semaphore set,
/// `RingCount.index` each (ring 0's items and spaces, then ring 1's). `semop`
/// with `IPC_NOWAIT`, `semtimedop`, and `semop` adding one.
struct SystemVSemaphoreRingSignals: RingSignals {
    let set: SystemVSemaphoreSet

    /// Every ring empty, with `slots` free slots, in member order.
    static func initialValues(slots: Int) -> [Int] { [0, slots, 0, slots] }

    @inline(__always)
    func tryTake(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool {
        try set.tryPerform(.take(from: count.index))
    }

    @inline(__always)
    func take(_ count: RingCount, until deadline: Deadline, in segment: borrowing PlacedMapping) throws(IPCError) -> Bool {
        do { try set.perform(.take(from: count.index), until: deadline) } catch where error.isTimeout { return false }
        return true
    }

    @inline(__always)
    func give(_ count: RingCount, in segment: borrowing PlacedMapping) throws(IPCError) {
        try set.perform(.add(to: count.index))
    }
}
