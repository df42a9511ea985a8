import Interprocess

/// Why a bench run failed. Every case reads as a sentence for the terminal.
enum BenchError: Error, CustomStringConvertible {
    /// A system call of the transport failed.
    case transport(IPCError)
    /// The other side closed its end (end of file) in the middle of a run.
    case peerClosed
    /// An echo did not carry the tag or sequence number that was sent.
    case echoMismatch(tag: UInt8, expected: UInt64, received: UInt64)
    /// The responder sent a tag the protocol does not have.
    case unknownTag(UInt8)
    /// The responder process ended before the run did.
    case peerDied(run: String, status: ChildStatus)
    /// The responder did not finish in time and was killed.
    case peerTimedOut(run: String, seconds: Int)
    /// Setting up the run failed.
    case setup(run: String, IPCError)

    var description: String {
        switch self {
        case .transport(let error): "\(error)"
        case .peerClosed: "the other side closed the connection"
        case .echoMismatch(let tag, let expected, let received):
            "echo mismatch: sent sequence \(expected), received tag \(tag) with sequence \(received)"
        case .unknownTag(let tag): "unknown message tag \(tag)"
        case .peerDied(let run, let status): "bench-peer for \(run) died (\(status))"
        case .peerTimedOut(let run, let seconds): "bench-peer for \(run) made no progress in \(seconds) s and was killed"
        case .setup(let run, let error): "setting up \(run): \(error)"
        }
    }
}

extension BenchError {
    /// Runs a library call, turning its `IPCError` into `.transport`.
    @inline(__always)
    static func transporting<T>(_ body: () throws(IPCError) -> T) throws(BenchError) -> T {
        do { return try body() } catch { throw .transport(error) }
    }
}
