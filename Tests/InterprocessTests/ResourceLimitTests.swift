import CInterprocess
import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Resource limits (L1)")
struct ResourceLimitTests {
    @Test("current(.openFiles) is getrlimit(RLIMIT_NOFILE)")
    func current() throws {
        var limit = rlimit()
        #expect(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let files = try ResourceLimit.current(.openFiles)
        #expect(files.soft == (limit.rlim_cur == rlim_t.max ? nil : UInt64(limit.rlim_cur)))
        #expect(files.hard == (limit.rlim_max == rlim_t.max ? nil : UInt64(limit.rlim_max)))
    }

    @Test("raising the soft open-files limit takes effect in the process that raises it")
    func raiseInChild() throws {
        let files = try ResourceLimit.current(.openFiles)
        let hard = files.hard ?? 4096
        try #require(hard >= 64, "the hard limit is too low to test raising")
        let lower = hard / 2, target = hard
        let (status, output) = try TestPeer.run(TestPeer.spawn("raise-open-files", String(lower), String(target)))
        #expect(status == .exited(0))
        #expect(output == "\(target) \(files.hard.map(String.init) ?? String(rlim_t.max)) ok")
        // The test process itself is unchanged.
        #expect(try ResourceLimit.current(.openFiles) == files)
    }

    @Test("a soft limit above the hard limit is refused with EINVAL before setrlimit")
    func beyondHard() throws {
        let files = try ResourceLimit.current(.openFiles)
        guard files.hard != nil, let soft = files.soft else { return }  // unlimited: nothing is above it
        let (status, output) = try TestPeer.run(TestPeer.spawn("raise-open-files-beyond-hard"))
        #expect(status == .exited(0))
        #expect(output == "EINVAL \(soft)")
    }

    @Test("setrlimit's failure is reported with its errno")
    func setrlimitFailure() throws {
        let files = try ResourceLimit.current(.openFiles)
        guard let soft = files.soft, soft < (files.hard ?? .max) else { return }
        let error = FaultInjection.inject(EPERM, into: "setrlimit") {
            #expect(throws: IPCError.self) { try ResourceLimit.raiseOpenFiles(to: soft + 1) }
        }
        #expect(error?.errno == .notPermitted)
        #expect(error?.description.hasPrefix("setrlimit(RLIMIT_NOFILE): operation not permitted (EPERM)") == true)
        #expect(try ResourceLimit.current(.openFiles) == files)
    }

    @Test("asking for less than the current soft limit changes nothing")
    func neverLowers() throws {
        let files = try ResourceLimit.current(.openFiles)
        guard let soft = files.soft, soft > 1 else { return }
        // setrlimit must not even be called: a fault armed on it stays unused.
        let result = try FaultInjection.inject(EPERM, into: "setrlimit") { () throws(IPCError) in
            try ResourceLimit.raiseOpenFiles(to: soft - 1)
        }
        #expect(result == files)
    }
}
