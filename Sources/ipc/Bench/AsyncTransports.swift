import Interprocess

/// `shm-posix-sem-async`: the ring pair of `shm-posix-sem`, with every semaphore
/// wait made through `MappedSemaphore.waitAsync(timeout:)` (a worker of the
/// library's waiting engine sleeps in `sem_clockwait`; the task is suspended).
final class SharedMemorySemaphoreAsyncTransport: AsyncBenchTransport, @unchecked Sendable {
    static let name = "shm-posix-sem-async"
    let rings: SharedMemorySemaphoreTransport

    required init(_ twin: consuming SharedMemorySemaphoreTransport) { rings = twin }

    static var maximumMessageSize: Int? { SharedMemorySemaphoreTransport.maximumMessageSize }
    static func unsupportedReason(size: Int) -> String? { SharedMemorySemaphoreTransport.unsupportedReason(size: size) }
    static func note(size: Int) -> String? { SharedMemorySemaphoreTransport.note(size: size) }
    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> Self {
        Self(try SharedMemorySemaphoreTransport.initiator(name: name, peer: peer))
    }
    static func responder(objects: [String]) throws(IPCError) -> Self {
        Self(try SharedMemorySemaphoreTransport.responder(objects: objects))
    }

    func sendAsync(_ message: UnsafeRawBufferPointer) async throws(BenchError) { try await rings.ring.sendAsync(message) }

    func receiveAsync(into message: UnsafeMutableRawBufferPointer) async throws(BenchError) { try await rings.ring.receiveAsync(into: message) }
}

extension SharedMemoryRing where Signals == PosixSemaphoreRingSignals {
    /// `send` with the wait for a free slot made through `MappedSemaphore.waitAsync(timeout:)`.
    func sendAsync(_ message: UnsafeRawBufferPointer) async throws(BenchError) {
        try await takeAsync(RingCount(ring: sendRing, of: .spaces))
        let sent = counters[0]
        try BenchError.transporting { () throws(IPCError) in
            try segment.write(message, to: sendData, at: (sent % slots) * stride)
        }
        counters[0] = sent &+ 1
        try BenchError.transporting { () throws(IPCError) in try signals.give(RingCount(ring: sendRing, of: .items), in: segment) }
    }

    /// `receive` with the wait for a filled slot made through `MappedSemaphore.waitAsync(timeout:)`.
    func receiveAsync(into message: UnsafeMutableRawBufferPointer) async throws(BenchError) {
        try await takeAsync(RingCount(ring: receiveRing, of: .items))
        let received = counters[1]
        try BenchError.transporting { () throws(IPCError) in
            try segment.read(into: message, from: receiveData, at: (received % slots) * stride)
        }
        counters[1] = received &+ 1
        try BenchError.transporting { () throws(IPCError) in try signals.give(RingCount(ring: receiveRing, of: .spaces), in: segment) }
    }

    /// As the blocking `take`: gives up every 100 ms to check the other side is there.
    private func takeAsync(_ count: RingCount) async throws(BenchError) {
        if try BenchError.transporting({ () throws(IPCError) in try signals.tryTake(count, in: segment) }) { return }
        let place = signals.semaphores[count.index]
        while true {
            do {
                try await segment.withSemaphore(place) { semaphore in try await semaphore.waitAsync(timeout: .milliseconds(100)) }
                return
            } catch let error as IPCError where error.isTimeout {
            } catch let error as IPCError {
                throw .transport(error)
            } catch {
                throw .peerClosed
            }
            if try BenchError.transporting({ () throws(IPCError) in try liveness.tryWait(for: .readable) }) {
                throw .peerClosed
            }
        }
    }
}

/// `posix-mq-async`: the queues of `posix-mq`, driven through the async forms: a
/// `mq_timedsend`/`mq_timedreceive` that would block suspends the task on the
/// queue descriptor's readiness (`waitAsync(for:)`, the library's reactor).
final class PosixMQAsyncTransport: AsyncBenchTransport, @unchecked Sendable {
    static let name = "posix-mq-async"
    let queues: PosixMQTransport

    required init(_ twin: consuming PosixMQTransport) { queues = twin }

    static var maximumMessageSize: Int? { PosixMQTransport.maximumMessageSize }
    static func unsupportedReason(size: Int) -> String? { PosixMQTransport.unsupportedReason(size: size) }
    static func note(size: Int) -> String? { PosixMQTransport.note(size: size) }
    static func initiator(name: String, peer: BenchPeer) throws(IPCError) -> Self {
        Self(try PosixMQTransport.initiator(name: name, peer: peer))
    }
    static func responder(objects: [String]) throws(IPCError) -> Self {
        Self(try PosixMQTransport.responder(objects: objects))
    }

    func sendAsync(_ message: UnsafeRawBufferPointer) async throws(BenchError) {
        do {
            while try !queues.sender.trySend(message, priority: 0) { try await queues.sender.waitAsync(for: .writable) }
        } catch let error as IPCError {
            throw .transport(error)
        } catch {
            throw .peerClosed
        }
    }

    func receiveAsync(into message: UnsafeMutableRawBufferPointer) async throws(BenchError) {
        let count: Int
        do {
            while true {
                if let received = try queues.receiver.tryReceive(into: message) {
                    count = received.count
                    break
                }
                try await queues.receiver.waitAsync(for: .readable)
            }
        } catch let error as IPCError {
            throw .transport(error)
        } catch {
            throw .peerClosed
        }
        if count != message.count {
            throw .transport(IPCError(.messageTooLong, operation: "mq_receive", detail: "received \(count) bytes, expected \(message.count)"))
        }
    }
}
