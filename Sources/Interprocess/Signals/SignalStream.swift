#if canImport(Glibc)
import Glibc
#endif
import CInterprocess

/// The signals of some numbers, received in one place (SPEC P8, M4): each with
/// its number, sender pid and uid, and `sigqueue` payload, read from a signalfd
/// by the library's signal thread (`SignalCenter`).
///
/// ```swift
/// let signals = try SignalStream([SIGTERM, SIGHUP])   // early in main, on the main thread
/// for try await signal in signals {
///     if signal.signal == SIGHUP { reload() } else { break }
/// }
/// ```
///
/// Creating a stream takes its signals over for the rest of the process: it
/// installs the library's handler (the program's action is kept and still runs,
/// see below) and blocks them in the calling thread. Threads created afterwards
/// by that thread inherit the block; the library's threads and the runtime's
/// worker threads block every signal already. So create the first stream on the
/// main thread before starting threads: every signal then waits in the kernel
/// for the stream, in the kernel's order — lower numbers first, the realtime
/// signals of one number in the order they were sent. A thread that has the
/// signal unblocked (one the program started earlier) takes it through the
/// library's handler, which passes it on: nothing is lost, but such a signal
/// arrives in the order it was delivered.
///
/// Several streams may watch one number: each receives every signal of it.
/// The program's own action still runs after the streams have the signal: a
/// handler installed before the stream is called; one installed after it (by the
/// program) is wrapped when the stream next waits, and called too; a default action
/// applies only while no stream watches the number — so once the last stream of
/// `SIGTERM` ends, `SIGTERM` ends the process again.
///
/// A stream keeps at most `bufferLimit` signals nobody has taken; more are
/// counted in `droppedCount`. Standard signals (below `SIGRTMIN`) are not
/// queued by the kernel: several sent before the reader takes one arrive once.
///
/// Every wait has the four forms of the API rules: `receive()`, `tryReceive()`,
/// `receive(until:)` / `receive(timeout:)` (`ETIMEDOUT`), `receiveAsync()`; the
/// stream is also an `AsyncSequence` (`for try await`), which ends when the task
/// is cancelled.
///
/// A signal has one reader: a stream cannot share one with a Dispatch signal
/// source (`DispatchSource.makeSignalSource`, which swift-service-lifecycle makes
/// for a `ServiceGroup`'s `gracefulShutdownSignals`), since both read a signalfd and
/// each would miss some of the signals. Making a stream of such a signal throws
/// `EBUSY`, and so does the stream's next wait when Dispatch makes one after it.
/// With a `ServiceGroup`, watch `SIGTERM` with the stream and call
/// `triggerGracefulShutdown()` when it comes (`Examples/signal-service`).
///
/// `fork`: the child keeps nothing (the signals get their actions back and are
/// unblocked there). `exec`: the new program gets the default actions and the
/// signal mask of the thread that called it — `Spawn` empties the mask.
public final class SignalStream: AsyncSequence, Sendable {
    public typealias Element = ReceivedSignal
    public typealias Failure = IPCError

    private let subscription: SignalSubscription
    private let center: SignalCenter

    /// Starts receiving `signals` (numbers, e.g. `SIGTERM`, `Signals.realtime.lowerBound + 1`).
    /// Throws `EINVAL` for `SIGKILL`, `SIGSTOP`, the fault signals (`SIGSEGV`,
    /// `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`, `SIGSYS`) and the C library's own
    /// (32, 33); `EBUSY` for `SIGURG`, the library's interruption signal; `EINVAL`
    /// for an empty list or a `bufferLimit` below 1.
    public init(_ signals: [CInt], bufferLimit: Int = 4096) throws(IPCError) {
        guard !signals.isEmpty, bufferLimit >= 1 else {
            throw IPCError(.invalidArgument, operation: "signalfd", object: "a signal stream",
                           detail: signals.isEmpty ? "no signal to watch" : "bufferLimit must be at least 1, not \(bufferLimit)")
        }
        for signal in signals {
            if let (errno, why) = Signals.reasonNotWatchable(signal) {
                throw IPCError(errno, operation: "signalfd", object: Signals.name(of: signal), detail: why)
            }
            if cipc_signal_dispatch_has_source(signal) != 0 { throw Self.dispatchConflict(signal) }
        }
        center = try SignalCenter.shared
        subscription = try SignalSubscription(signals: Set(signals), limit: bufferLimit)
        try center.watch(subscription)
    }

    deinit { center.unwatch(subscription) }

    /// The numbers this stream receives.
    public var signals: Set<CInt> { subscription.signals }

    /// How many signals arrived while `bufferLimit` were already waiting, and were dropped.
    public var droppedCount: Int { subscription.dropped }

    /// Waits for the next signal.
    public func receive() throws(IPCError) -> ReceivedSignal {
        try receive(until: .distantFuture)
    }

    /// The next signal if one has arrived; nil otherwise. Never waits.
    public func tryReceive() throws(IPCError) -> ReceivedSignal? {
        try keepFirst()
        return subscription.take()
    }

    /// Waits for the next signal until `deadline`; throws `ETIMEDOUT` then.
    public func receive(until deadline: Deadline) throws(IPCError) -> ReceivedSignal {
        try keepFirst()
        while true {
            if let signal = subscription.take() { return signal }
            guard try waitForReadiness(subscription.counter, .readable, until: deadline) else {
                throw IPCError(.timedOut, operation: "signalfd", object: "a stream of \(describedSignals)")
            }
        }
    }

    /// `receive(until:)` with a deadline `timeout` from now.
    public func receive(timeout: Duration) throws(IPCError) -> ReceivedSignal {
        try receive(until: .after(timeout))
    }

    /// Suspends until the next signal, on the reactor (no thread of the
    /// cooperative pool waits). Throws `CancellationError` when the task is cancelled.
    public func receiveAsync() async throws -> ReceivedSignal {
        try keepFirst()
        while true {
            try Task.checkCancellation()
            if let signal = subscription.take() { return signal }
            try await Reactor.shared.waitAsync(subscription.counter, for: .readable)
        }
    }

    /// Before each wait: puts the library's handler back first for the stream's
    /// signals (`SignalCenter.keepHandlersFirst`), and throws `EBUSY` if Dispatch
    /// has made a signal source for one of them since the stream was made.
    private func keepFirst() throws(IPCError) {
        if let taken = subscription.signals.sorted().first(where: { cipc_signal_dispatch_has_source($0) != 0 }) {
            throw Self.dispatchConflict(taken)
        }
        center.keepHandlersFirst(for: subscription.signals)
    }

    /// Two signalfd readers of one signal each take some of its signals: a
    /// stream and a Dispatch signal source cannot share one.
    private static func dispatchConflict(_ signal: CInt) -> IPCError {
        IPCError(.resourceBusy, operation: "signalfd", object: Signals.name(of: signal),
                 detail: "Dispatch has a signal source for it (DispatchSource.makeSignalSource, which swift-service-lifecycle makes for a ServiceGroup's gracefulShutdownSignals and cancellationSignals); two readers would each miss some of its signals. Give it to one: leave it out of the group's signals and call triggerGracefulShutdown() when this stream receives it")
    }

    private var describedSignals: String {
        subscription.signals.sorted().map(Signals.name(of:)).joined(separator: ", ")
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: SignalStream

        /// The next signal; nil once the task is cancelled. Throws what
        /// `receiveAsync` throws otherwise (`EBUSY`: Dispatch took a signal over).
        public mutating func next() async throws(IPCError) -> ReceivedSignal? {
            do {
                return try await stream.receiveAsync()
            } catch let error as IPCError {
                throw error
            } catch {
                return nil
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
