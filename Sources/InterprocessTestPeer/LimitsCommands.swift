import CInterprocess
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the limits tests (SPEC L1). They change this process's resource
// limits, which is why they run in a peer and not in the test process.
extension PeerCommands {
    static let limits: [String: PeerCommand] = [
        // raise-open-files LOWER N: lower the soft RLIMIT_NOFILE to LOWER with plain
        // setrlimit, raise it to N with the library, then print
        // "SOFT HARD DUP" where DUP is "ok" when descriptor N-1 could be allocated
        // (only possible under the raised limit) and the errno name otherwise.
        "raise-open-files": { args in
            let lower = rlim_t(args[0])!, target = UInt64(args[1])!
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1 }
            limit.rlim_cur = lower
            guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 2 }
            guard fcntl(0, F_DUPFD_CLOEXEC, CInt(target - 1)) < 0 else { return 3 }  // lowered for real
            let reported = try ResourceLimit.raiseOpenFiles(to: target)
            guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1 }
            guard reported.soft == UInt64(limit.rlim_cur) else { return 4 }
            let fd = fcntl(0, F_DUPFD_CLOEXEC, CInt(target - 1))
            let dup = fd >= 0 ? "ok" : String(cString: cipc_errno_name(errno))
            print("\(limit.rlim_cur) \(limit.rlim_max) \(dup)")
            return 0
        },
        // raise-open-files-beyond-hard: ask the library for one more than the hard
        // limit; print the errno name it threw and the soft limit afterwards.
        "raise-open-files-beyond-hard": { _ in
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1 }
            do {
                try ResourceLimit.raiseOpenFiles(to: UInt64(limit.rlim_max) + 1)
                print("no error")
            } catch let error as IPCError {
                var after = rlimit()
                guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &after) == 0 else { return 1 }
                print("\(error.errnoName) \(after.rlim_cur)")
            }
            return 0
        },
    ]
}
