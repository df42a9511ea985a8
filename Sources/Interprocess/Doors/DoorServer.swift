import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The shared state of one door: what its threads (the acceptor, one per client)
/// hold. The public `Door` owns it and ends it; the threads keep it alive until
/// they have ended.
final class DoorServer: @unchecked Sendable {
    enum Procedure: Sendable {
        case blocking(@Sendable (inout DoorCall) throws -> Void)
        case async(@Sendable (consuming DoorRequest) async throws -> DoorResult)
    }

    let name: String
    let cookie: UInt64
    let identifier: UInt64
    let options: DoorOptions
    let procedure: Procedure
    let statistics: DoorStatistics

    struct State {
        var revoked = false
        var closing = false
        var path: String?
        /// Sessions open now (clients), and threads running (sessions, hellos, the acceptor).
        var clients = 0
        var threads = 0
    }
    let state = Mutex(State())
    /// Bumped (and woken) when a thread ends, for `close` to wait on.
    private let threadsEnded: UnsafeMutablePointer<UInt32>

    init(name: String, cookie: UInt64, options: DoorOptions, procedure: Procedure) throws(IPCError) {
        guard options.maximumMessageSize >= 0, options.maximumMessageSize <= 16 << 20 else {
            throw IPCError(.invalidArgument, operation: "door_create", object: IPCError.describe(path: name),
                           detail: "the maximum message size \(options.maximumMessageSize) is not between 0 and 16 MiB")
        }
        guard options.maximumClients >= 1 else {
            throw IPCError(.invalidArgument, operation: "door_create", object: IPCError.describe(path: name),
                           detail: "a door serves at least one client")
        }
        self.name = name
        self.cookie = cookie
        self.options = options
        self.procedure = procedure
        identifier = DoorServer.nextIdentifier.add(1, ordering: .relaxed).newValue
        statistics = try DoorStatistics(identifier: identifier)
        threadsEnded = .allocate(capacity: 1)
        threadsEnded.initialize(to: 0)
    }

    deinit { threadsEnded.deallocate() }

    private static let nextIdentifier = Atomic<UInt64>(0)

    /// Revoked or closing: read on every call, so an atomic rather than the lock.
    private let ended = Atomic<Bool>(false)
    var isRevoked: Bool { ended.load(ordering: .acquiring) }

    var info: DoorInfo {
        let (revoked, path, clients) = state.withSanitizedLock { ($0.revoked, $0.path, $0.clients) }
        return DoorInfo(serverPid: getpid(), procedure: name, cookie: cookie, identifier: identifier, path: path,
                        isRevoked: revoked, notifiesUnreferenced: options.unreferenced != nil,
                        isRestricted: !options.access.isOpen, maximumMessageSize: options.maximumMessageSize,
                        maximumClients: options.maximumClients, clients: clients, callsServed: statistics.calls)
    }

    /// Starts a library thread that serves `socket` (an accepted or handed-out
    /// connection): its hello, then its session.
    func serve(_ socket: consuming UnixSocket) throws(IPCError) {
        let connection = DoorConnection(server: self, socket: socket)
        try startThread(name: "ipc-door") { connection.run() }
    }

    /// Counts a thread in before it starts, out when it ends.
    func startThread(name: String, _ body: @escaping @Sendable () -> Void) throws(IPCError) {
        let refused = state.withSanitizedLock { state -> Bool in
            if state.closing { return true }
            state.threads += 1
            return false
        }
        if refused { throw IPCError(.badFileDescriptor, operation: "door", object: IPCError.describe(path: name), detail: "the door is closed") }
        do throws(IPCError) {
            try LibraryThread.startDetached(name: name) { [self] in
                body()
                threadEnded()
            }
        } catch {
            threadEnded()
            throw error
        }
    }

    private func threadEnded() {
        state.withSanitizedLock { $0.threads -= 1 }
        atomicWord(threadsEnded).pointee.wrappingAdd(1, ordering: .releasing)
        _ = try? Futex.wake(threadsEnded, count: Int32.max)
    }

    /// Admits a session (`EAGAIN` beyond `maximumClients`, `EBADF` once revoked).
    func admitClient() throws(IPCError) {
        let refusal = state.withSanitizedLock { state -> IPCError? in
            if state.revoked || state.closing {
                return IPCError(.badFileDescriptor, operation: "door_call", object: IPCError.describe(path: name), detail: "the door was revoked")
            }
            if state.clients >= options.maximumClients {
                return IPCError(.resourceTemporarilyUnavailable, operation: "door_call", object: IPCError.describe(path: name),
                                detail: "the door serves at most \(options.maximumClients) clients at once")
            }
            state.clients += 1
            return nil
        }
        if let refusal { throw refusal }
        statistics.setClients(state.withSanitizedLock { $0.clients })
    }

    /// A session ended: the last one tells `unreferenced`.
    func clientLeft() {
        let left = state.withSanitizedLock { state -> Int in
            state.clients -= 1
            return state.clients
        }
        statistics.setClients(left)
        if left == 0, let unreferenced = options.unreferenced { unreferenced() }
    }

    func revoke() {
        state.withSanitizedLock { $0.revoked = true }
        ended.store(true, ordering: .releasing)
        statistics.setRevoked()
    }

    /// Ends every thread and waits for them; the sessions' threads see it within
    /// their 100 ms slice.
    func close() {
        state.withSanitizedLock { $0.closing = true }
        ended.store(true, ordering: .releasing)
        while true {
            let seen = atomicWord(threadsEnded).pointee.load(ordering: .acquiring)
            if state.withSanitizedLock({ $0.threads }) == 0 {
                statistics.retire()
                return
            }
            try? Futex.wait(threadsEnded, expecting: seen, until: .after(.milliseconds(100)))
        }
    }

    func atomicWord(_ word: UnsafeMutablePointer<UInt32>) -> UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(word).assumingMemoryBound(to: Atomic<UInt32>.self)
    }
}
