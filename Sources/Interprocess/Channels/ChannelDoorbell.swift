import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A channel receiver's doorbell (SPEC M5): an `eventfd` that becomes readable
/// when a message may be waiting, so a channel can be waited on together with
/// other descriptors — in the program's own `poll`/`epoll` set, or with the
/// library's reactor (`waitAsync`).
///
/// ```swift
/// let bell = try receiver.doorbell()
/// while true {
///     while let message = try receiver.tryReceive() { handle(message) }   // drain
///     try await bell.waitAsync()       // or: poll bell.descriptor with other descriptors, then bell.clear()
/// }
/// ```
///
/// How it rings: when a `tryReceive…` of its receiver finds every ring empty, it
/// arms the bell with the producers' tails it saw. A library thread of this process
/// (`ipc-doorbell`) then waits for a tail to move, the way any receiver waits —
/// flag "asleep" in the channel, sleep on its futex, woken by the producer that
/// commits — and writes the eventfd. So producers are unchanged, make no system
/// call while the receiver keeps up, and need no descriptor of the receiver's: any
/// process that can open the channel rings the bell. The cost is one thread hop
/// per wake-up, which the waiting forms of `Receiver` do not pay.
///
/// When every producer has ended, the bell rings too, and the next `tryReceive…`
/// on the empty channel throws `EPIPE` (as a waiting receive would). A bell rings
/// at least once after each arming; it may ring when the channel is already
/// drained again (the loop above then finds nothing and waits again).
public final class ChannelDoorbell: @unchecked Sendable {
    /// The eventfd: readable while the bell has rung and was not cleared. Valid
    /// while this object lives; do not close it.
    public let descriptor: CInt
    /// 1 while armed (the thread waits for a tail to move), 0 otherwise.
    private let armed: UnsafeMutablePointer<UInt32>
    /// The tails the receiver saw when it armed the bell, one per ring.
    private let seen: UnsafeMutableBufferPointer<UInt64>
    private let closing = Atomic<Bool>(false)
    /// What ended the channel (every producer gone), for the next `tryReceive`.
    private let ended = Mutex<IPCError?>(nil)
    private var thread: pthread_t?
    private let sleep: ChannelSleep
    private let slots: [ChannelSlot]

    init(_ ring: ChannelRing) throws(IPCError) {
        let fd = system_eventfd(0, cipc_fd_nonblocking_cloexec)
        guard fd >= 0 else { throw IPCError.last("eventfd", object: ring.object, detail: "a channel's doorbell needs one") }
        descriptor = fd
        armed = .allocate(capacity: 1)
        armed.initialize(to: 0)
        seen = .allocate(capacity: ring.slots.count)
        seen.initialize(repeating: 0)
        slots = ring.slots
        sleep = ChannelSleep(spinning: 0, bell: ring.data, peers: ring.slots.map(\.sender),
                             object: ring.object, operation: "SharedMemoryChannel.tryReceive")
        do throws(IPCError) {
            thread = try LibraryThread.start(name: "ipc-doorbell") { [unowned(unsafe) self] in self.run() }
        } catch {
            release()
            throw error
        }
    }

    /// Stops the thread (it holds no reference, so the receiver stops it before
    /// the channel's memory goes), then closes the eventfd.
    deinit {
        stop()
        release()
    }

    private func release() {
        _ = system_close(descriptor)
        armed.deallocate()
        seen.deallocate()
    }

    /// Ends the thread and waits for it: nothing touches the channel's memory after.
    func stop() {
        guard let thread else { return }
        closing.store(true, ordering: .sequentiallyConsistent)
        atomic(armed).pointee.store(1, ordering: .sequentiallyConsistent)
        _ = try? Futex.wake(armed, count: 1)
        sleep.bell.atomicWord.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        _ = try? Futex.wake(sleep.bell.word, count: Int32.max)
        LibraryThread.join(thread)
        self.thread = nil
    }

    /// Called by the receiver when every ring was empty at `tails`: unless already
    /// armed, records them and lets the thread wait for one to move. Throws (once)
    /// the `EPIPE` the thread met, when every producer had ended.
    func arm(_ tails: (Int) -> UInt64) throws(IPCError) {
        if let error = ended.withSanitizedLock({ state in defer { state = nil }; return state }) { throw error }
        if atomic(armed).pointee.load(ordering: .acquiring) != 0 { return }
        for index in seen.indices { seen[index] = tails(index) }
        atomic(armed).pointee.store(1, ordering: .releasing)
        _ = try? Futex.wake(armed, count: 1)
    }

    /// The thread: wait to be armed, wait for a tail to move (or the producers to
    /// end), ring, disarm.
    private func run() {
        while !closing.load(ordering: .acquiring) {
            if atomic(armed).pointee.load(ordering: .acquiring) == 0 {
                _ = try? Futex.wait(armed, expecting: 0, until: nil)
                continue
            }
            let slots = self.slots, seen = self.seen
            do throws(IPCError) {
                try sleep.wait(until: .distantFuture) {
                    if closing.load(ordering: .relaxed) { return true }
                    for index in 0..<slots.count where slots[index].tail.pointee.load(ordering: .acquiring) != seen[index] {
                        return true
                    }
                    return false
                }
            } catch {
                ended.withSanitizedLock { $0 = error }
            }
            if closing.load(ordering: .acquiring) { return }
            atomic(armed).pointee.store(0, ordering: .releasing)
            var one: UInt64 = 1
            _ = system_write(descriptor, &one, 8)
        }
    }

    private func atomic(_ word: UnsafeMutablePointer<UInt32>) -> UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// Clears the bell (reads the eventfd's count): do it before draining the
    /// channel, so a message that comes after rings again. True when it had rung.
    @discardableResult
    public func clear() -> Bool {
        var count: UInt64 = 0
        return retryingInterrupts({ system_read(descriptor, &count, 8) }) == 8
    }

    /// Waits until the bell rings, then clears it. The corresponding C call is
    /// `ppoll` on the eventfd.
    public func wait() throws(IPCError) {
        _ = try waitForReadiness(descriptor, .readable, until: .distantFuture)
        clear()
    }

    /// Clears the bell if it rang; false (without waiting) when it had not.
    public func tryWait() -> Bool { clear() }

    /// `wait()` until `deadline`: `ETIMEDOUT` then.
    public func wait(until deadline: Deadline) throws(IPCError) {
        if try !waitForReadiness(descriptor, .readable, until: deadline) {
            throw IPCError(.timedOut, operation: "ppoll", object: sleep.object, detail: "the channel's doorbell did not ring before the deadline")
        }
        clear()
    }

    /// `wait(until:)` with a deadline `timeout` from now.
    public func wait(timeout: Duration) throws(IPCError) { try wait(until: .after(timeout)) }

    /// The async form: the library's reactor watches the eventfd (`epoll`), no
    /// thread blocks; `CancellationError` promptly when the task is cancelled.
    public func waitAsync() async throws {
        try Task.checkCancellation()
        if !isReady(descriptor, .readable) { try await Reactor.shared.waitAsync(descriptor, for: .readable) }
        clear()
    }
}
