import Interprocess

/// `shm-posix-sem`: the `SharedMemoryRing` pair in one anonymous shared memory
/// object, signalled by process-shared POSIX semaphores in the object's header.
///
/// Layout: a 4 KiB header per ring (`items` at 0, `spaces` right after it), then
/// the two rings. The parent initializes the semaphores before the child exists
/// and hands it the memfd as descriptor 3, and the write end of a pipe as
/// descriptor 4: the pipe reads as end of file once the child is gone, which is
/// how a waiting parent notices a dead peer.
struct SharedMemorySemaphoreTransport: ~Copyable, BenchTransport {
    typealias Ring = SharedMemoryRing<PosixSemaphoreRingSignals>

    static let name = "shm-posix-sem"
    static let maximumMessageSize: Int? = Ring.maximumMessageSize
    static let totalBytes = 2 * PosixSemaphoreRingSignals.headerBytes + 2 * Ring.ringBytes

    let ring: Ring

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SharedMemorySemaphoreTransport {
        let size = peer.size
        let memory = try SharedMemory.anonymous(size: totalBytes, label: "ipc-bench")
        let mapping = try memory.map()
        try PosixSemaphoreRingSignals.initialize(in: mapping, slots: Ring.slots(size: size))
        let lifeline = try Pipe()
        peer.inherit(memory.descriptor, as: 3)
        peer.inherit(lifeline.writer.descriptor, as: 4)
        try peer.start(objects: [String(size)])
        return SharedMemorySemaphoreTransport(ring: Ring(
            segment: mapping, dataOffset: PosixSemaphoreRingSignals.dataOffset, signals: PosixSemaphoreRingSignals(),
            size: size, initiator: true, liveness: lifeline.reader.descriptor))
    }

    static func responder(objects: [String]) throws(IPCError) -> SharedMemorySemaphoreTransport {
        guard let text = objects.first, let size = Int(text), size > 0, size <= maximumMessageSize! else {
            throw IPCError(.invalidArgument, operation: "shm-posix-sem", detail: "the child needs the message size")
        }
        let memory = SharedMemory(adopting: InheritedDescriptor.take(3))
        let mapping = try memory.map(length: totalBytes)
        return SharedMemorySemaphoreTransport(ring: Ring(
            segment: mapping, dataOffset: PosixSemaphoreRingSignals.dataOffset, signals: PosixSemaphoreRingSignals(),
            size: size, initiator: false, liveness: InheritedDescriptor.take(4)))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) { try ring.send(message) }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) { try ring.receive(into: message) }
}

/// The signals of `shm-posix-sem`: four process-shared POSIX semaphores
/// (`sem_init` with `pshared` 1) in the segment's header, a 4 KiB page per ring
/// with `items` at 0 and `spaces` right after it. `sem_trywait`,
/// `sem_clockwait` and `sem_post` through `MappedSemaphore`.
struct PosixSemaphoreRingSignals: RingSignals {
    static let headerBytes = 4096
    /// Where the rings start, after both headers.
    static let dataOffset = 2 * headerBytes

    /// Parent, before the child exists: every ring empty, with `slots` free slots.
    static func initialize(in segment: borrowing MemoryMapping, slots: Int) throws(IPCError) {
        for ring in 0..<2 {
            try segment.initializeSemaphore(at: offset(RingCount(ring: ring, of: .items)), value: 0)
            try segment.initializeSemaphore(at: offset(RingCount(ring: ring, of: .spaces)), value: slots)
        }
    }

    @inline(__always)
    static func offset(_ count: RingCount) -> Int {
        count.ring * headerBytes + (count.kind == .items ? 0 : MappedSemaphore.size)
    }

    @inline(__always)
    func tryTake(_ count: RingCount, in segment: borrowing MemoryMapping) throws(IPCError) -> Bool {
        try Self.using(count, in: segment) { try $0.tryWait() }
    }

    @inline(__always)
    func take(_ count: RingCount, until deadline: Deadline, in segment: borrowing MemoryMapping) throws(IPCError) -> Bool {
        try Self.using(count, in: segment) { try $0.wait(until: deadline) }
    }

    @inline(__always)
    func give(_ count: RingCount, in segment: borrowing MemoryMapping) throws(IPCError) {
        try Self.using(count, in: segment) { try $0.post() }
    }

    /// `withSemaphore(at:)` with the semaphore of `count`; its untyped throws
    /// carry only `IPCError` here.
    @inline(__always)
    private static func using<R>(_ count: RingCount, in segment: borrowing MemoryMapping,
                                 _ body: (borrowing MappedSemaphore) throws -> R) throws(IPCError) -> R {
        do {
            return try segment.withSemaphore(at: offset(count), body)
        } catch let error as IPCError {
            throw error
        } catch {
            throw IPCError(.ioError, operation: "withSemaphore", detail: "\(error)")
        }
    }
}
