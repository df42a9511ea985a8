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
    /// "sender" or "receiver", for errors.
    let role: String

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
    /// side that is gone. Throws `EBUSY` naming the side that is still there.
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
                                   detail: "pid \(holder.pid) is the channel's \(role) (single \(role) only)")
                }
            }
            let expected = holder?.pid ?? 0
            if pid.pointee.compareExchange(expected: expected, desired: me.pid, ordering: .acquiringAndReleasing).exchanged {
                startTime.pointee.store(me.startTime, ordering: .relaxed)
                pidNamespace.pointee.store(me.pidNamespace, ordering: .relaxed)
                identified.pointee.store(me.pid, ordering: .releasing)
                return
            }
        }
    }

    /// Marks the side closed (its pid negated) when this process holds it, so the
    /// other end stops waiting (`EPIPE`) and a new side may attach.
    func close() {
        let me = getpid()
        _ = pid.pointee.compareExchange(expected: me, desired: -me, ordering: .acquiringAndReleasing)
    }

    /// Throws `EPIPE` naming the side when it attached and is gone (exited, killed,
    /// a zombie, or its pid reused); a side that never attached, or that this
    /// process cannot judge (another PID namespace), is waited for.
    func checkAlive(_ operation: String, object: String) throws(IPCError) {
        guard let side = recorded else { return }
        if side.pid < 0 {
            throw IPCError(.brokenPipe, operation: operation, object: object,
                           detail: "the channel's \(role), pid \(side.pid == .min ? side.pid : -side.pid), closed its end")
        }
        if side.liveness == .gone {
            throw IPCError(.brokenPipe, operation: operation, object: object,
                           detail: "the channel's \(role), pid \(side.pid), is gone")
        }
    }
}
