import Interprocess

/// `shm-posix-sem`: two single-producer rings in one anonymous shared memory object,
/// one each way, with two process-shared POSIX semaphores per ring — `items` (slots
/// filled) and `spaces` (slots free) — as refbench's `shm_sem` (mech_sys.c).
///
/// Layout: a 4 KiB header per ring (`items` at 0, `spaces` right after it), then
/// 1 MiB of slots per ring, each slot the message size rounded up to 64 bytes. The
/// parent initializes the semaphores before the child exists and hands it the
/// memfd as descriptor 3, and the write end of a pipe as descriptor 4: the pipe
/// reads as end of file once the child is gone, which is how a waiting parent
/// notices a dead peer (a semaphore cannot tell).
struct SharedMemorySemaphoreTransport: ~Copyable, BenchTransport {
    static let name = "shm-posix-sem"
    static let maximumMessageSize: Int? = ringBytes / 2

    static let headerBytes = 4096
    static let ringBytes = 1 << 20
    static let totalBytes = 2 * headerBytes + 2 * ringBytes

    let mapping: MemoryMapping
    let stride: Int
    let slots: Int
    /// Header and data offsets of the ring this side sends on and receives from.
    let sendHeader: Int, sendData: Int
    let receiveHeader: Int, receiveData: Int
    /// This side's message counters (sent, received), which only it touches.
    let counters: UnsafeMutablePointer<Int>
    /// Parent: reads end of file once the child has exited. Child: the write end.
    let liveness: OwnedDescriptor

    init(mapping: consuming MemoryMapping, size: Int, initiator: Bool, liveness: consuming OwnedDescriptor) {
        self.mapping = mapping
        stride = (size + 63) & ~63
        slots = Self.ringBytes / stride
        let ring0 = (header: 0, data: 2 * Self.headerBytes)
        let ring1 = (header: Self.headerBytes, data: 2 * Self.headerBytes + Self.ringBytes)
        (sendHeader, sendData) = initiator ? ring0 : ring1
        (receiveHeader, receiveData) = initiator ? ring1 : ring0
        counters = .allocate(capacity: 2)
        counters.initialize(repeating: 0, count: 2)
        self.liveness = liveness
    }

    deinit {
        counters.deallocate()
    }

    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> SharedMemorySemaphoreTransport {
        let size = peer.size
        let memory = try SharedMemory.anonymous(size: totalBytes, label: "ipc-bench")
        let mapping = try memory.map()
        let slots = ringBytes / ((size + 63) & ~63)
        for ring in 0..<2 {
            try mapping.initializeSemaphore(at: ring * headerBytes, value: 0)
            try mapping.initializeSemaphore(at: ring * headerBytes + MappedSemaphore.size, value: slots)
        }
        let lifeline = try Pipe()
        peer.inherit(memory.descriptor, as: 3)
        peer.inherit(lifeline.writer.descriptor, as: 4)
        try peer.start(objects: [String(size)])
        return SharedMemorySemaphoreTransport(mapping: mapping, size: size, initiator: true, liveness: lifeline.reader.descriptor)
    }

    static func responder(objects: [String]) throws(IPCError) -> SharedMemorySemaphoreTransport {
        guard let text = objects.first, let size = Int(text), size > 0, size <= maximumMessageSize! else {
            throw IPCError(.invalidArgument, operation: "shm-posix-sem", detail: "the child needs the message size")
        }
        let memory = SharedMemory(adopting: InheritedDescriptor.take(3))
        let mapping = try memory.map(length: totalBytes)
        return SharedMemorySemaphoreTransport(mapping: mapping, size: size, initiator: false, liveness: InheritedDescriptor.take(4))
    }

    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        try wait(at: sendHeader + MappedSemaphore.size)
        try put(message)
    }

    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        try wait(at: receiveHeader)
        try take(into: message)
    }

    /// After a free slot was waited for: fills it and posts `items`.
    @inline(__always)
    func put(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        let sent = counters[0]
        try BenchError.transporting { () throws(IPCError) in
            try mapping.write(message, at: sendData + (sent % slots) * stride)
        }
        counters[0] = sent &+ 1
        try post(at: sendHeader)
    }

    /// After a filled slot was waited for: reads it and posts `spaces`.
    @inline(__always)
    func take(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        let received = counters[1]
        try BenchError.transporting { () throws(IPCError) in
            try mapping.read(into: message, from: receiveData + (received % slots) * stride)
        }
        counters[1] = received &+ 1
        try post(at: receiveHeader + MappedSemaphore.size)
    }

    /// Waits on the semaphore at `offset`. A wait that lasts gives up every 100 ms
    /// to check that the other side is still there.
    @inline(__always)
    private func wait(at offset: Int) throws(BenchError) {
        do {
            try mapping.withSemaphore(at: offset) { semaphore in
                if try semaphore.tryWait() { return }
                while try !semaphore.wait(until: .after(.milliseconds(100))) {
                    if try liveness.wait(for: .readable, until: .now) { throw BenchError.peerClosed }
                }
            }
        } catch let error as BenchError {
            throw error
        } catch let error as IPCError {
            throw .transport(error)
        } catch {
            throw .peerClosed
        }
    }

    @inline(__always)
    private func post(at offset: Int) throws(BenchError) {
        do {
            try mapping.withSemaphore(at: offset) { try $0.post() }
        } catch let error as IPCError {
            throw .transport(error)
        } catch {
            throw .peerClosed
        }
    }
}
