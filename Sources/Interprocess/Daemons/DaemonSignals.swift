#if canImport(Glibc)
import Glibc
#endif

/// What a daemon's signals ask of it: reload its configuration (`SIGHUP`) or stop
/// gracefully (`SIGTERM`, `SIGINT`), received through a `SignalStream` (SPEC P3, P8).
///
/// ```swift
/// let signals = try DaemonSignals()      // first thing in main, before threads start
/// while true {
///     switch try signals.next() {
///     case .reload: configuration = try load()
///     case .stop: return
///     }
/// }
/// ```
///
/// With a swift-service-lifecycle `ServiceGroup`, leave these signals out of the
/// group's `gracefulShutdownSignals` and call `triggerGracefulShutdown()` on
/// `.stop` (see `SignalStream` on why a signal has one reader).
public final class DaemonSignals: Sendable {
    /// One request, with the signal that made it (sender pid and uid).
    public enum Request: Sendable, Hashable {
        case reload(ReceivedSignal)
        case stop(ReceivedSignal)
    }

    /// The stream underneath.
    public let stream: SignalStream
    /// The signals that ask for a reload.
    public let reloadSignals: Set<CInt>

    /// Watches `reload` and `stop` signals from now on: they no longer end the
    /// process by default, they are requests. `EINVAL` for a signal in both lists.
    public init(reload: [CInt] = [SIGHUP], stop: [CInt] = [SIGTERM, SIGINT]) throws(IPCError) {
        if let both = reload.first(where: stop.contains) {
            throw IPCError(.invalidArgument, operation: "DaemonSignals", object: Signals.name(of: both),
                           detail: "a signal asks for a reload or a stop, not both")
        }
        stream = try SignalStream(reload + stop)
        reloadSignals = Set(reload)
    }

    /// Waits for the next request.
    public func next() throws(IPCError) -> Request { request(try stream.receive()) }

    /// The next request if a signal has arrived; nil otherwise.
    public func tryNext() throws(IPCError) -> Request? { try stream.tryReceive().map(request) }

    /// Waits for the next request until `deadline`; `ETIMEDOUT` then.
    public func next(until deadline: Deadline) throws(IPCError) -> Request { request(try stream.receive(until: deadline)) }

    /// `next(until:)` with a deadline `timeout` from now.
    public func next(timeout: Duration) throws(IPCError) -> Request { try next(until: .after(timeout)) }

    /// Suspends until the next request; `CancellationError` when the task is cancelled.
    public func nextAsync() async throws -> Request { request(try await stream.receiveAsync()) }

    private func request(_ signal: ReceivedSignal) -> Request {
        reloadSignals.contains(signal.signal) ? .reload(signal) : .stop(signal)
    }
}
