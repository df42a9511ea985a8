import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// The parent's handle on one run's child (`ipc bench-peer`): what it inherits, the
/// process once started, and the watchdog that keeps a stuck run from hanging.
final class BenchPeer {
    /// Until `start`, which takes it.
    private var spawn: Spawn?
    private(set) var child: ChildProcess?
    private(set) var watchdog: Watchdog?
    let run: String
    /// The message size of the run.
    let size: Int
    let watchdogSeconds: Int
    /// Where the transport records the objects it makes.
    let ledger: BenchLedger
    private var shutDownOnExit: UnixSocket?
    private var onExit: (@Sendable () -> Void)?

    init(spawn: Spawn, run: String, size: Int, watchdogSeconds: Int, ledger: BenchLedger) {
        self.ledger = ledger
        self.spawn = spawn
        self.run = run
        self.size = size
        self.watchdogSeconds = watchdogSeconds
    }

    /// Hands `descriptor` to the child as number `target`; see `Spawn.inherit(_:as:)`.
    func inherit(_ descriptor: borrowing OwnedDescriptor, as target: CInt) throws(IPCError) {
        try spawn?.inherit(descriptor, as: target)
    }

    /// Shuts `socket` down (both ways) when the child ends, for transports whose
    /// receive does not end by itself when the peer is gone (datagram sockets).
    /// Call before `start`.
    func shutDownWhenChildEnds(_ socket: borrowing UnixSocket) throws(IPCError) {
        shutDownOnExit = try UnixSocket(adopting: socket.descriptor.duplicate())
    }

    /// Runs `action` when the child ends (dies, or is killed by the watchdog), for
    /// transports whose blocked receive has no end of file to wake it (message
    /// queues): the action must make that receive return. It is called again
    /// every 10 ms until the parent is back, so it must be safe to repeat. Call
    /// before `start`.
    func whenChildEnds(_ action: @escaping @Sendable () -> Void) {
        onExit = action
    }

    /// Starts the child, giving it `objects` (names of kernel objects to open) after
    /// its options, and arms the watchdog.
    func start(objects: [String] = []) throws(IPCError) {
        // Taken, not kept: its duplicates of the child's descriptors go with the start,
        // so the transport sees the child's death as end of file.
        guard var spawn = spawn.take() else { preconditionFailure("a bench peer is started once") }
        if !objects.isEmpty { spawn.arguments += ["--"] + objects }
        let started = try spawn.start()
        do {
            watchdog = try Watchdog(child: started, run: run, seconds: watchdogSeconds, shutDownOnExit: shutDownOnExit.take(),
                                    onExit: onExit)
        } catch {
            var doomed = started
            try? doomed.signal(SIGKILL)
            _ = try? doomed.wait()
            throw error
        }
        child = consume started
    }

    /// After QUIT: waits for the child to exit 0.
    func finish() throws(BenchError) {
        defer { watchdog?.stop() }
        guard var child = child.take() else { return }
        let status: ChildStatus
        do { status = try child.wait(timeout: .seconds(10)) } catch {
            guard error.isTimeout else { throw .transport(error) }
            try? child.signal(SIGKILL)
            _ = try? child.wait()
            throw .peerTimedOut(run: run, seconds: 10)
        }
        if status != .exited(0) { throw .peerDied(run: run, status: status) }
    }

    /// After a failed run: a dead child explains a closed transport; a live one is
    /// killed and reaped, so nothing is left behind.
    func diagnose(_ error: BenchError) -> BenchError {
        defer { watchdog?.stop() }
        guard var child = child.take() else { return error }
        if case .peerDied = error { return error }
        if let status = try? child.wait(timeout: .seconds(2)) {
            watchdog?.stop()
            if watchdog?.hasFired == true { return .peerTimedOut(run: run, seconds: watchdogSeconds) }
            if status != .exited(0) { return .peerDied(run: run, status: status) }
            return error
        }
        try? child.signal(SIGKILL)
        _ = try? child.wait()
        return error
    }
}
