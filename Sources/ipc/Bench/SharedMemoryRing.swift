import Interprocess

/// The ring pair of the shared-memory mechanisms (`shm-posix-sem`, `shm-sysv-sem`):
/// two single-producer, single-consumer rings in one shared segment, one each way,
/// as refbench's `shm_sem` (mech_sys.c). How a side waits for a filled or a free
/// slot, and tells the other side, is `Signals`; the ring logic is here once.
///
/// Each ring is `ringBytes` of slots, each slot the message size rounded up to 64
/// bytes, the two rings placed by a `SharedMemoryRingLayout`. Nothing in the segment is
/// an index: each side counts its own messages (sent, received) in private memory,
/// and the signals' counts say how many slots are filled and free, so nothing the
/// peer writes can steer this side outside its slots.
///
/// A wait that lasts gives up every 100 ms to check `liveness`, a pipe end that
/// reads as end of file (or error) once the other side is gone: a semaphore cannot
/// tell.
struct SharedMemoryRing<Signals: RingSignals & ~Copyable>: ~Copyable {
    static var ringBytes: Int { 1 << 20 }
    /// The largest message: a ring holds at least two.
    static var maximumMessageSize: Int { ringBytes / 2 }

    /// The bytes a slot of a `size`-byte message takes.
    static func stride(size: Int) -> Int { (size + 63) & ~63 }
    /// The slots of one ring for `size`-byte messages: the initial free count.
    static func slots(size: Int) -> Int { ringBytes / stride(size: size) }

    /// The segment holding both rings (and, for some signals, the signals too),
    /// placed by a `SharedMemoryRingLayout`.
    let segment: PlacedMapping
    let signals: Signals
    let stride: Int
    let slots: Int
    /// The ring this side sends on and the one it receives from (0 or 1).
    let sendRing: Int, receiveRing: Int
    let sendData: SharedPlace<SharedBytes>, receiveData: SharedPlace<SharedBytes>
    /// This side's message counters (sent, received), which only it touches.
    let counters: UnsafeMutablePointer<Int>
    /// Parent: reads end of file once the child has exited. Child: the write end.
    let liveness: OwnedDescriptor

    /// - Parameter initiator: the parent sends on ring 0, the child on ring 1.
    init(segment: consuming PlacedMapping, rings: [SharedPlace<SharedBytes>], signals: consuming Signals, size: Int,
         initiator: Bool, liveness: consuming OwnedDescriptor) {
        self.segment = segment
        self.signals = signals
        stride = Self.stride(size: size)
        slots = Self.slots(size: size)
        (sendRing, receiveRing) = initiator ? (0, 1) : (1, 0)
        sendData = rings[sendRing]
        receiveData = rings[receiveRing]
        counters = .allocate(capacity: 2)
        counters.initialize(repeating: 0, count: 2)
        self.liveness = liveness
    }

    deinit {
        counters.deallocate()
    }

    /// Takes a free slot of the send ring, copies `message` into it and counts
    /// it filled.
    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer) throws(BenchError) {
        try take(RingCount(ring: sendRing, of: .spaces))
        let sent = counters[0]
        try BenchError.transporting { () throws(IPCError) in
            try segment.write(message, to: sendData, at: (sent % slots) * stride)
        }
        counters[0] = sent &+ 1
        try give(RingCount(ring: sendRing, of: .items))
    }

    /// Takes a filled slot of the receive ring, copies it into `message` and
    /// counts it free.
    @inline(__always)
    func receive(into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
        try take(RingCount(ring: receiveRing, of: .items))
        let received = counters[1]
        try BenchError.transporting { () throws(IPCError) in
            try segment.read(into: message, from: receiveData, at: (received % slots) * stride)
        }
        counters[1] = received &+ 1
        try give(RingCount(ring: receiveRing, of: .spaces))
    }

    /// Takes a unit of `count`, checking every 100 ms that the other side is
    /// still there.
    @inline(__always)
    private func take(_ count: RingCount) throws(BenchError) {
        if try BenchError.transporting({ () throws(IPCError) in try signals.tryTake(count, in: segment) }) { return }
        while try !BenchError.transporting({ () throws(IPCError) in
            try signals.take(count, until: .after(.milliseconds(100)), in: segment)
        }) {
            if try BenchError.transporting({ () throws(IPCError) in try liveness.tryWait(for: .readable) }) {
                throw .peerClosed
            }
        }
    }

    @inline(__always)
    private func give(_ count: RingCount) throws(BenchError) {
        try BenchError.transporting { () throws(IPCError) in try signals.give(count, in: segment) }
    }
}

/// The segment of a ring pair, placed behind a checked header: the signals'
/// semaphores when they live in the segment (one per `RingCount`, in
/// `RingCount.index` order), then the two rings of `ringBytes`. The parent creates
/// it (initialising the semaphores exactly once); the child opens it, which checks
/// the header against the same layout.
struct SharedMemoryRingLayout {
    var layout: SharedLayout
    /// Ring 0 (the parent sends on it), ring 1.
    var rings: [SharedPlace<SharedBytes>] = []
    /// Empty when the signals live outside the segment.
    var semaphores: [SharedPlace<MappedSemaphore>] = []

    /// - Parameter slots: the free slots of an empty ring, to place semaphores
    ///   (items 0, spaces `slots`) for; nil for none.
    init(mechanism: String, semaphoresFor slots: Int?) throws(IPCError) {
        layout = try SharedLayout(type: "ipc-bench." + mechanism, version: 1)
        if let slots {
            for _ in 0..<2 {
                semaphores.append(try layout.semaphore(value: 0))
                semaphores.append(try layout.semaphore(value: slots))
            }
        }
        for _ in 0..<2 {
            rings.append(try layout.bytes(count: SharedMemoryRing<PosixSemaphoreRingSignals>.ringBytes, alignment: 64))
        }
    }
}
