#if canImport(Glibc)
import Glibc
#endif

/// The child's side of the protocol (refbench's `child_main`): echo PING and SYNC,
/// drop DATA, echo QUIT and return.
enum Responder {
    /// - Parameter fault: for tests of a dying or stuck peer.
    static func serve<E: BenchTransport & ~Copyable>(
        _ endpoint: borrowing E, buffer: borrowing MessageBuffer, fault: BenchPeerFault? = nil
    ) throws(BenchError) {
        let message = buffer.bytes
        var received = 0
        while true {
            try endpoint.receive(into: message)
            received += 1
            if let fault, received >= fault.afterMessages { fault.strike() }
            switch message[0] {
            case BenchTag.ping.rawValue, BenchTag.sync.rawValue:
                try endpoint.send(UnsafeRawBufferPointer(message))
            case BenchTag.data.rawValue:
                break
            case BenchTag.quit.rawValue:
                try endpoint.send(UnsafeRawBufferPointer(message))
                return
            default:
                throw .unknownTag(message[0])
            }
        }
    }
}

/// A fault the responder injects on purpose, so tests can prove that `ipc bench`
/// reports a dead or stuck peer instead of hanging.
struct BenchPeerFault: Sendable {
    enum Kind: String, Sendable {
        /// Kill itself with SIGKILL.
        case crash
        /// Stop answering (wait for signals forever).
        case stall
    }

    var kind: Kind
    var afterMessages: Int
    /// Only the children of this mechanism misbehave; all when nil.
    var mechanism: String?

    /// Parses `crash:N`, `stall:N`, `crash:N:MECHANISM` or `stall:N:MECHANISM`.
    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, let kind = Kind(rawValue: String(parts[0])),
              let count = Int(parts[1]), count > 0 else { return nil }
        self.kind = kind
        self.afterMessages = count
        if parts.count == 3 {
            guard BenchMechanisms.named(String(parts[2])) != nil else { return nil }
            mechanism = String(parts[2])
        }
    }

    /// `crash:N` or `stall:N`, as the child takes it.
    var description: String { "\(kind.rawValue):\(afterMessages)" }

    func applies(to mechanism: String) -> Bool { self.mechanism == nil || self.mechanism == mechanism }

    func strike() {
        switch kind {
        case .crash: kill(getpid(), SIGKILL)
        case .stall: while true { pause() }
        }
    }
}
