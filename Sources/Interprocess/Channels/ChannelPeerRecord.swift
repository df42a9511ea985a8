import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One side's identity in the channel's memory (SPEC M5): the pid it claimed, and
/// — once `identified` equals that pid — its start time and PID namespace, so a
/// reused pid is not taken for the side that died.
///
/// The values are written by another process and may be anything: they are only
/// ever judged (`ProcessIdentity.liveness`), never used to index memory.
struct ChannelPeerRecord: @unchecked Sendable {
    let pid: UnsafeMutablePointer<Atomic<Int32>>
    let identified: UnsafeMutablePointer<Atomic<Int32>>
    let startTime: UnsafeMutablePointer<Atomic<UInt64>>
    let pidNamespace: UnsafeMutablePointer<Atomic<UInt64>>
    /// Which side, for errors.
    let role: Role

    /// Which side a record is (a trivial value, so that copying a slot on the hot
    /// path copies no string).
    enum Role: Equatable, CustomStringConvertible {
        case sender
        case receiver
        case producer(Int)

        var description: String {
            switch self {
            case .sender: "sender"
            case .receiver: "receiver"
            case .producer(let index): "producer \(index)"
            }
        }
    }

    /// The recorded side: nil when none ever attached; its pid alone (start time
    /// 0) while it is still writing its identity.
    var recorded: ProcessIdentity? {
        let pid = pid.pointee.load(ordering: .acquiring)
        if pid == 0 { return nil }
        var identity = ProcessIdentity(pid: pid, startTime: 0, pidNamespace: 0)
        if identified.pointee.load(ordering: .acquiring) == pid {
            identity.startTime = startTime.pointee.load(ordering: .relaxed)
            identity.pidNamespace = pidNamespace.pointee.load(ordering: .relaxed)
        }
        return identity
    }

    /// Records this process as the side, by compare-and-swap from nobody or from a
    /// side that is gone. Throws `EBUSY` naming the side that is still there (this
    /// process included: one end per side and process).
    func claim(_ operation: String, object: String) throws(IPCError) {
        let me = ProcessIdentity.current
        while true {
            let holder = recorded
            if let holder {
                if holder.pid == me.pid {
                    throw IPCError(.resourceBusy, operation: operation, object: object,
                                   detail: "this process is already the channel's \(role)")
                }
                if holder.pid > 0, holder.liveness != .gone {
                    throw IPCError(.resourceBusy, operation: operation, object: object,
                                   detail: "pid \(holder.pid) is the channel's \(role)")
                }
            }
            if tryClaim(replacing: holder?.pid ?? 0, me) { return }
        }
    }

    /// Records `me` if the side still holds `expected` (nobody, a closed or a dead
    /// side); false when another process got there first.
    func tryClaim(replacing expected: Int32, _ me: ProcessIdentity) -> Bool {
        guard pid.pointee.compareExchange(expected: expected, desired: me.pid, ordering: .acquiringAndReleasing).exchanged else {
            return false
        }
        startTime.pointee.store(me.startTime, ordering: .relaxed)
        pidNamespace.pointee.store(me.pidNamespace, ordering: .relaxed)
        identified.pointee.store(me.pid, ordering: .releasing)
        return true
    }

    /// What became of the side: never attached, attached and alive (or not
    /// judgeable: another PID namespace), closed by its process, or gone.
    enum State: Equatable {
        case none
        case attached(pid_t)
        case closed(pid_t)
        case gone(pid_t)
    }

    var state: State {
        Self.state(of: recorded)
    }

    /// What became of a side recorded as `side` (nil: none attached).
    static func state(of side: ProcessIdentity?) -> State {
        guard let side else { return .none }
        if side.pid < 0 { return .closed(side.pid == .min ? side.pid : -side.pid) }
        return side.liveness == .gone ? .gone(side.pid) : .attached(side.pid)
    }

    /// Marks the side closed (its pid negated) when this process holds it, so the
    /// other end stops waiting (`EPIPE`) and a new side may attach.
    func close() {
        let me = getpid()
        _ = pid.pointee.compareExchange(expected: me, desired: -me, ordering: .acquiringAndReleasing)
    }

    /// Throws `EPIPE` naming a side when at least one of `sides` attached and none
    /// of those is still there (closed its end, exited, killed, a zombie, or its pid
    /// reused). Sides that never attached, or that this process cannot judge
    /// (another PID namespace), are waited for.
    static func checkAnyAlive(_ sides: [ChannelPeerRecord], _ operation: String, object: String) throws(IPCError) {
        var ended: (ChannelPeerRecord, State)?
        for side in sides {
            let state = side.state
            switch state {
            case .none: continue
            case .attached: return
            case .closed, .gone: if ended == nil { ended = (side, state) }
            }
        }
        guard let (side, state) = ended else { return }
        let all = sides.count > 1 ? "every producer has ended; " : ""
        switch state {
        case .closed(let pid):
            throw IPCError(.brokenPipe, operation: operation, object: object,
                           detail: "\(all)the channel's \(side.role), pid \(pid), closed its end")
        case .gone(let pid):
            throw IPCError(.brokenPipe, operation: operation, object: object,
                           detail: "\(all)the channel's \(side.role), pid \(pid), is gone")
        default: return
        }
    }
}
