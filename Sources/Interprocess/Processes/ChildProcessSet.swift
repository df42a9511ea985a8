import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// A set of children this process spawned, to wait for whichever terminates
/// first — among all of them, or among those in one process group (SPEC P2).
///
/// Unlike `waitpid(-1)` or `waitpid(-pgid)`, it only ever reaps the children in
/// the set, so children started by other libraries of this process are left
/// alone.
public struct ChildProcessSet: ~Copyable, Sendable {
    private var children: [pid_t: ChildBox] = [:]

    public init() {}

    /// The pids of the children still in the set.
    public var pids: [pid_t] { children.keys.sorted() }
    public var isEmpty: Bool { children.isEmpty }
    public var count: Int { children.count }

    /// Adds a child; the set now owns it.
    public mutating func insert(_ child: consuming ChildProcess) {
        let box = ChildBox(child)
        children[box.pid] = box
    }

    /// Spawns `spawn` and adds the child to the set; returns its pid.
    @discardableResult
    public mutating func start(_ spawn: Spawn) throws(IPCError) -> pid_t {
        let child = try spawn.start()
        let pid = child.pid
        insert(child)
        return pid
    }

    /// Sends `signal` to every child in the set (or in `processGroup`).
    public func signalAll(_ signal: CInt, inProcessGroup processGroup: pid_t? = nil) throws(IPCError) {
        for (pid, box) in children where matches(pid, processGroup) {
            try box.child.signal(signal)
        }
    }

    /// Reaps a child that has terminated, if any: its pid and status, or nil.
    public mutating func tryWaitAny(inProcessGroup processGroup: pid_t? = nil) throws(IPCError) -> (pid: pid_t, status: ChildStatus)? {
        for pid in children.keys.sorted() where matches(pid, processGroup) {
            if let status = try children[pid]!.child.tryWait() {
                children[pid] = nil
                return (pid, status)
            }
        }
        return nil
    }

    /// Blocks until a child (in `processGroup`, when given) terminates; reaps it.
    /// Throws `ECHILD` when no child matches.
    public mutating func waitAny(inProcessGroup processGroup: pid_t? = nil) throws(IPCError) -> (pid: pid_t, status: ChildStatus) {
        try waitAny(inProcessGroup: processGroup, until: .distantFuture)
    }

    /// Like `waitAny`, but throws `ETIMEDOUT` when the deadline passes first.
    public mutating func waitAny(inProcessGroup processGroup: pid_t? = nil, until deadline: Deadline) throws(IPCError) -> (pid: pid_t, status: ChildStatus) {
        while true {
            if let reaped = try tryWaitAny(inProcessGroup: processGroup) { return reaped }
            var entries = children.filter { matches($0.key, processGroup) }
                .map { pollfd(fd: $0.value.child.pidDescriptor.rawValue, events: Int16(POLLIN), revents: 0) }
            if entries.isEmpty {
                throw IPCError(.noChildProcess, operation: "waitid",
                               object: processGroup.map { "process group \($0)" }, detail: "no child of this set matches")
            }
            let rc: CInt
            if var left = deadline.remainingTimespec {
                rc = system_ppoll(&entries, entries.count, &left)
            } else {
                rc = system_ppoll(&entries, entries.count, nil)
            }
            if rc == 0 {
                throw IPCError(.timedOut, operation: "waitid", object: processGroup.map { "process group \($0)" },
                               detail: "no child of this set terminated before the deadline")
            }
            if rc < 0 && lastErrno != EINTR { throw IPCError.last("ppoll") }
        }
    }

    /// `waitAny(…until:)` with a deadline `timeout` from now.
    public mutating func waitAny(inProcessGroup processGroup: pid_t? = nil, timeout: Duration) throws(IPCError) -> (pid: pid_t, status: ChildStatus) {
        try waitAny(inProcessGroup: processGroup, until: .after(timeout))
    }

    /// Suspends until a child (in `processGroup`, when given) terminates; reaps it.
    public mutating func waitAnyAsync(inProcessGroup processGroup: pid_t? = nil) async throws -> (pid: pid_t, status: ChildStatus) {
        while true {
            if let reaped = try tryWaitAny(inProcessGroup: processGroup) { return reaped }
            let descriptors = children.filter { matches($0.key, processGroup) }.map { $0.value.child.pidDescriptor.rawValue }
            if descriptors.isEmpty {
                throw IPCError(.noChildProcess, operation: "waitid", object: processGroup.map { "process group \($0)" })
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for fd in descriptors {
                    group.addTask { try await Reactor.shared.waitAsync(fd, for: .readable) }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Takes a child out of the set, handing its ownership back.
    public mutating func remove(_ pid: pid_t) -> ChildProcess? {
        guard let box = children.removeValue(forKey: pid) else { return nil }
        return box.take()
    }

    private func matches(_ pid: pid_t, _ processGroup: pid_t?) -> Bool {
        guard let processGroup else { return true }
        return getpgid(pid) == processGroup
    }
}

/// Heap storage for one `ChildProcess`, so the set can keep children in a
/// dictionary (Swift collections hold copyable values).
private final class ChildBox: @unchecked Sendable {
    var storage: ChildProcess?
    let pid: pid_t

    init(_ child: consuming ChildProcess) {
        pid = child.pid
        storage = .some(child)
    }

    var child: ChildProcess {
        _read { yield storage! }
        _modify { yield &storage! }
    }

    func take() -> ChildProcess {
        storage.take()!
    }
}
