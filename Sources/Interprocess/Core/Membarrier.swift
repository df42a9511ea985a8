import CInterprocess

/// Memory barriers run on other processes' threads (`membarrier(2)`), for the
/// channel's wake-up protocol (SPEC M5): a side about to sleep makes every running
/// thread of every registered process execute a full barrier, so the other side
/// needs none on its hot path.
///
/// The corresponding C calls are `membarrier(MEMBARRIER_CMD_QUERY)`,
/// `membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED)` and
/// `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` (Linux 4.16 and later).
enum Membarrier {
    /// Whether the kernel offers global expedited barriers (asked once).
    static let isSupported: Bool = {
        let mask = system_membarrier_query()
        return mask > 0 && mask & cipc_membarrier_cmd_global_expedited() != 0
    }()

    /// Registers this process to take part in global expedited barriers; false
    /// when the kernel has none or refuses (a seccomp filter, say). Cheap to
    /// repeat; each end of a channel registers when it attaches (a forked child
    /// that attaches registers itself).
    static func registerProcess() -> Bool {
        isSupported && system_membarrier_register_global_expedited() == 0
    }

    /// Runs a full memory barrier on every running thread of every registered
    /// process before it returns; false when the call failed (then the caller must
    /// not rely on it).
    static func barrierOnRegisteredProcesses() -> Bool {
        system_membarrier_global_expedited() == 0
    }
}
