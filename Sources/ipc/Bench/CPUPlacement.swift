import CIPCTool
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Which CPU each side of the bench runs on: the parent on the first CPU this
/// process may use and the child on the second (cores 0 and 1 on a plain machine),
/// as refbench pins them with `taskset`. With `--no-pin`, or fewer than two CPUs,
/// placement is left to the scheduler.
struct CPUPlacement: Sendable {
    var parent: CInt?
    var child: CInt?

    static let unpinned = CPUPlacement(parent: nil, child: nil)

    /// Reads the allowed CPUs; call before pinning anything.
    static func choose(pin: Bool) -> CPUPlacement {
        guard pin else { return .unpinned }
        var cpus: [CInt] = [0, 0]
        guard cipc_allowed_cpus(&cpus, 2) == 2 else { return .unpinned }
        return CPUPlacement(parent: cpus[0], child: cpus[1])
    }

    /// Pins the calling process to `cpu`. The corresponding C function is
    /// `sched_setaffinity`.
    static func pin(to cpu: CInt) throws(IPCError) {
        if cipc_sched_pin(cpu) != 0 {
            throw IPCError(Errno(rawValue: errno), operation: "sched_setaffinity", object: "cpu \(cpu)")
        }
    }
}
