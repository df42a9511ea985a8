@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Mandatory locking (Y9)")
struct MandatoryLockingTests {
    @Test("The running kernel is checked and the answer says why (removed in Linux 5.15)")
    func runningKernel() throws {
        var name = utsname()
        #expect(uname(&name) == 0)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        let report = MandatoryLocking.check(file: "/proc/self/stat")
        #expect(!report.isProvided, "no kernel this runs on has /proc mounted with -o mand")
        if numbers.count == 2, (numbers[0], numbers[1]) >= (5, 15) {
            #expect(report.missing.first?.contains("removed in Linux 5.15") == true)
        }
        #expect { try MandatoryLocking.require() } throws: { error in
            let error = error as! IPCError
            return error.errno == .notSupported && "\(error)".contains("mand")
        }
    }

    @Test("Every condition is needed: kernel before 5.15 with the option, a mand mount, setgid without group-execute")
    func conditions() {
        let config = "CONFIG_X=y\nCONFIG_MANDATORY_FILE_LOCKING=y\n"
        let file = FilePath("/data/f")
        let setgid = mode_t(S_IFREG) | S_ISGID | 0o640
        #expect(MandatoryLocking.evaluate(kernelRelease: "5.10.0-21-amd64", kernelConfig: config, mountHasMand: true,
                                          fileMode: setgid, file: file).isProvided)
        let removed = MandatoryLocking.evaluate(kernelRelease: "5.15.0", kernelConfig: config, mountHasMand: true, fileMode: setgid, file: file)
        #expect(!removed.isProvided && removed.missing == ["Linux 5.15.0 has none: mandatory locking was removed in Linux 5.15"])
        #expect(MandatoryLocking.evaluate(kernelRelease: "4.19.1", kernelConfig: "CONFIG_X=y\n", mountHasMand: true, fileMode: setgid,
                                          file: file).missing == ["the kernel was built without CONFIG_MANDATORY_FILE_LOCKING"])
        #expect(MandatoryLocking.evaluate(kernelRelease: "4.19.1", kernelConfig: config, mountHasMand: false, fileMode: setgid,
                                          file: file).missing == ["the file's filesystem is not mounted with -o mand"])
        #expect(MandatoryLocking.evaluate(kernelRelease: "4.19.1", kernelConfig: config, mountHasMand: true, fileMode: setgid | S_IXGRP,
                                          file: file).missing.count == 1)
        #expect(MandatoryLocking.evaluate(kernelRelease: "4.19.1", kernelConfig: nil, mountHasMand: true, fileMode: setgid,
                                          file: file).missing.first?.contains("cannot be confirmed") == true)
    }
}
