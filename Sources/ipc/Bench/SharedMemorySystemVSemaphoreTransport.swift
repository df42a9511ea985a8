import Interprocess

/// `shm-sysv-sem`: the ring pair of `shm-posix-sem` in a System V shared memory
/// segment, with the waiting done by one System V semaphore set of four members
/// — for each ring, `items` (slots filled) and `spaces` (slots free).
///
/// Both objects are private (`IPC_PRIVATE`); their ids go to the child as
/// arguments. The segment is marked for removal as soon as the parent has
/// attached it (Linux still lets the child attach it by id), so it goes away
/// with the last process attached whatever happens; the semaphore set is in the
/// parent's ledger, which removes it after the run, on a signal, or — after
/// SIGKILL — at the start of the next bench. The write end of a pipe, descriptor 3
/// in the child, reads as end of file in the parent once the child is gone.
struct SharedMemorySystemVSemaphoreTransport: ~Copyable, BenchTransport {
    static let name = "shm-sysv-sem"
    static let maximumMessageSize: Int? = ringBytes / 2
    static let ringBytes = 1 << 20

    let mapping: MemoryMapping
    let semaphores: SystemVSemaphoreSet
    let stride: Int
    let slots: Int
    /// Semaphore members and data offset of the ring this side sends on, and of
    /// the one it receives from.
    let sendItems: Int, sendSpaces: Int, sendData: Int
    let receiveItems: Int, receiveSpaces: Int, receiveData: Int
    /// This side's message counters (sent, received), which only it touches.
    let counters: UnsafeMutablePointer<Int>
    /// Parent: reads end of file once the child has exited. Child: the write end.
    let liveness: OwnedDescriptor

    init(mapping: consuming MemoryMapping, semaphores: SystemVSemaphoreSet, size: Int, initiator: Bool, liveness: consuming OwnedDescriptor) {
        self.mapping = mapping
        self.semaphores = semaphores
        stride = (size + 63) & ~63
        slots = Self.ringBytes / stride
        let ring0 = (items: 0, spaces: 1, data: 0)
        let ring1 = (items: 2, spaces: 3, data: Self.ringBytes)
        (sendItems, sendSpaces, sendData) = initiator ? ring0 : ring1
        (receiveItems, receiveSpaces, receiveData) = initiator ? ring1 : ring0
        counters = .allocate(capacity: 2)
        counters.initialize(repeating: 0, count: 2)
        self.liveness = liveness
    }

    deinit {
        counters.deallocate()
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SharedMemorySystemVSemaphoreTransport {
        let size = peer.size
        let slots = ringBytes / ((size + 63) & ~63)
        let segment = try peer.ledger.make({ () throws(IPCError) in try SystemVSharedMemory.create(size: 2 * ringBytes) },
                                           recordedAs: { .systemV(.sharedMemory, $0.id) })
        let attachment: SystemVSharedMemory.Attachment
        do throws(IPCError) { attachment = try segment.attach() } catch {
            try? segment.remove()
            throw error
        }
        try segment.remove()
        let lifeline = try Pipe()
        peer.inherit(lifeline.writer.descriptor, as: 3)
        let semaphores = try peer.ledger.make({ () throws(IPCError) in
            try SystemVSemaphoreSet.create(key: .private, count: 4, initialValues: [0, slots, 0, slots])
        }, recordedAs: { .systemV(.semaphoreSet, $0.id) })
        let transport = SharedMemorySystemVSemaphoreTransport(
            mapping: attachment.mapping, semaphores: semaphores, size: size, initiator: true, liveness: lifeline.reader.descriptor)
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
        return SharedMemorySystemVSemaphoreTransport(
            mapping: attachment.mapping, semaphores: semaphores, size: size, initiator: false, liveness: InheritedDescriptor.take(3))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        try take(from: sendSpaces)
        let sent = counters[0]
        try BenchError.transporting { () throws(IPCError) in
            try mapping.write(message, at: sendData + (sent % slots) * stride)
            try semaphores.perform(.add(to: sendItems))
        }
        counters[0] = sent &+ 1
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        try take(from: receiveItems)
        let received = counters[1]
        try BenchError.transporting { () throws(IPCError) in
            try mapping.read(into: message, from: receiveData + (received % slots) * stride)
            try semaphores.perform(.add(to: receiveSpaces))
        }
        counters[1] = received &+ 1
    }

    /// Takes a unit from `member`. A wait that lasts gives up every 100 ms to
    /// check that the other side is still there.
    @inline(__always)
    private func take(from member: Int) throws(BenchError) {
        let taken = try BenchError.transporting { () throws(IPCError) in try semaphores.tryPerform(.take(from: member)) }
        if taken { return }
        while try !BenchError.transporting({ () throws(IPCError) in
            try semaphores.perform(.take(from: member), until: .after(.milliseconds(100)))
        }) {
            if try BenchError.transporting({ () throws(IPCError) in try liveness.wait(for: .readable, until: .now) }) {
                throw .peerClosed
            }
        }
    }
}
