import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one `SignalStream` has received and not yet taken: a queue of at most
/// `limit` signals, and an eventfd (`EFD_SEMAPHORE`) counting them, so every
/// form of waiting is a wait for that descriptor to be readable — `ppoll` for the
/// blocking and timed forms, the reactor for the async one.
final class SignalSubscription: Sendable {
    let signals: Set<CInt>
    let limit: Int
    /// The eventfd; closed in `deinit`.
    let counter: CInt

    private struct Queue {
        var items: [ReceivedSignal] = []
        var head = 0
        var dropped = 0
        var count: Int { items.count - head }
    }

    private let queue = Mutex(Queue())

    init(signals: Set<CInt>, limit: Int) throws(IPCError) {
        let fd = system_eventfd(0, cipc_efd_semaphore | cipc_fd_nonblocking_cloexec)
        guard fd >= 0 else { throw IPCError.last("eventfd", detail: "a signal stream needs one") }
        self.signals = signals
        self.limit = limit
        self.counter = fd
    }

    deinit { _ = system_close(counter) }

    /// Appends `signal` (the reader thread), or counts it dropped when the queue is full.
    func deliver(_ signal: ReceivedSignal) {
        queue.withSanitizedLock { queue in
            guard queue.count < limit else {
                queue.dropped += 1
                return
            }
            queue.items.append(signal)
            var one: UInt64 = 1
            _ = system_write(counter, &one, 8)  // cannot fail below 2^64 - 1 pending
        }
    }

    /// The oldest signal, if one is there: takes one from the eventfd's count,
    /// then the queue's head. Never waits.
    func take() -> ReceivedSignal? {
        var one: UInt64 = 0
        guard retryingInterrupts({ system_read(counter, &one, 8) }) == 8 else { return nil }
        return queue.withSanitizedLock { queue in
            let signal = queue.items[queue.head]
            queue.head += 1
            if queue.head >= 64 && queue.head * 2 >= queue.items.count {
                queue.items.removeFirst(queue.head)
                queue.head = 0
            }
            return signal
        }
    }

    var dropped: Int { queue.withSanitizedLock { $0.dropped } }
}
