import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// One `ipc bench` invocation: the settings every run shares, and `measure`, which
/// runs one mechanism at one size between this process and a fresh child.
struct BenchSession {
    let plan: BenchPlan
    let placement: CPUPlacement
    /// This executable, which the child runs as `bench-peer`.
    let executable: String
    let progress: BenchProgress
    /// Tests of a dying or stuck peer.
    var peerFault: BenchPeerFault?
    /// A run that takes longer than this is stuck: the watchdog kills the child.
    var watchdogSeconds = 120
    /// Records the objects each run makes, and removes them after it.
    let ledger: BenchLedger

    /// The run's label, the name its objects are made under, and the peer (the
    /// child `ipc bench-peer` to be started, pinned and watched) for `mechanism` at `size`.
    func makePeer(mechanism: String, size: Int) -> (label: String, name: String, peer: BenchPeer) {
        let label = "\(mechanism) \(size) B"
        let name = "ipc-bench-\(getpid())-\(mechanism)-\(size)"
        var spawn = Spawn(executable, arguments: ["bench-peer", mechanism, "--size", String(size), "--parent", String(getpid())])
        if let cpu = placement.child { spawn.arguments += ["--cpu", String(cpu)] }
        if let peerFault, peerFault.applies(to: mechanism) { spawn.arguments += ["--fault", peerFault.description] }
        return (label, name, BenchPeer(spawn: spawn, run: label, size: size, watchdogSeconds: watchdogSeconds, ledger: ledger))
    }

    /// Runs `T` at `size`: make the kernel objects, start the child with them,
    /// measure latency (at the latency sizes) and throughput, send QUIT, reap the
    /// child, remove the objects. A child that dies or stalls becomes a
    /// `BenchError`, never a hang; `result` keeps what was measured before.
    func measure<T: BenchTransport & ~Copyable>(_ transport: T.Type, size: Int, into result: inout BenchResult) throws(BenchError) {
        let (label, name, peer) = makePeer(mechanism: T.name, size: size)
        defer { ledger.removeAll() }

        // The endpoint outlives `diagnose`, which stops the watchdog: the watchdog
        // may act on the transport's sockets until then.
        let endpoint: T
        do throws(IPCError) { endpoint = try T.initiator(name: name, peer: peer) } catch {
            throw peer.diagnose(.setup(run: label, error))
        }
        do throws(BenchError) {
            let out = MessageBuffer(size: size), echo = MessageBuffer(size: size)
            out.fillPattern()
            result.note = T.note(size: size)
            if BenchPlan.latencySizes.contains(size) {
                progress.step("\(label) latency")
                result.latency = try Initiator.latency(endpoint, plan: plan, out: out, in: echo)
            }
            if BenchPlan.throughputSizes.contains(size) {
                progress.step("\(label) throughput")
                result.throughput = try Initiator.throughput(endpoint, plan: plan, out: out, in: echo)
            }
            try Initiator.quit(endpoint, out: out, in: echo)
            try peer.finish()
        } catch {
            throw peer.diagnose(error)
        }
    }
}
