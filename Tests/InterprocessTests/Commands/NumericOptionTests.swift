import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every numeric option of `ipc` refuses what it cannot pass on unchanged, naming
/// the range (and the limit it comes from); keys have one documented syntax.
@Suite("ipc numeric options and keys")
struct NumericOptionTests {
    @Test("msg create --max-bytes never wraps: above INT_MAX is refused, naming the range, and no queue is made")
    func maxBytesDoesNotWrap() throws {
        for value in ["4294967296", "4294967297", "2147483648", "0", "-1"] {
            let key = TestObjects.systemVKey()
            let run = try IPCTool.run(["msg", "create", "--key", key.description, "--max-bytes", value], timeout: .seconds(30))
            #expect(run.status == .exited(64), "--max-bytes \(value): \(run.stderr)")
            #expect(run.stderr.contains("give 1 to 2147483647"), "\(run.stderr)")
            let left = #expect(throws: IPCError.self) { _ = try SystemVMessageQueue.open(key: key) }
            #expect(left?.errno == .noSuchFileOrDirectory, "--max-bytes \(value) left a queue behind")
        }
        let key = TestObjects.systemVKey()
        let run = try IPCTool.run(["msg", "create", "--key", key.description, "--max-bytes", "1000"], timeout: .seconds(30))
        let id = try #require(Int32(run.stdout.trimmingCharacters(in: ["\n"])), "\(run.stderr)")
        defer { TestObjects.remove(.systemV(.messageQueue, id: id)) }
        #expect(try SystemVMessageQueue(id: id).status().maximumBytes == 1000)
    }

    @Test("semset create --count above SEMMSL is refused naming SEMMSL and its value on this host")
    func semaphoreCountNamesSEMMSL() throws {
        let semmsl = try #require(SystemLimits.current()["SEMMSL"]?.value.number)
        let key = TestObjects.systemVKey()
        let run = try IPCTool.run(["semset", "create", "--key", key.description, "--count", "\(semmsl + 1)"], timeout: .seconds(30))
        #expect(run.status == .exited(64), "\(run.stderr)")
        #expect(run.stderr.contains("give 1 to \(semmsl) (SEMMSL"), "\(run.stderr)")
        #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.open(key: key) }
    }

    @Test("out-of-range values of every kind of numeric option are usage errors that name the range")
    func rangesAreNamed() throws {
        let cases: [([String], String)] = [
            (["mq", "create", "/x", "--max-messages", "65537"], "give 1 to 65536 (HARD_MSGMAX"),
            (["mq", "create", "/x", "--message-size", "99999999999999999999"], "give 1 to 16777216 (HARD_MSGSIZEMAX"),
            (["mq", "send", "/x", "m", "--priority", "4294967296"], "below MQ_PRIO_MAX"),
            (["sem", "post", "/x", "--count", "0"], "give 1 to"),
            (["semset", "set", "--id", "1", "--member", "0", "--value", "32768"], "give 0 to 32767 (SEMVMX)"),
            (["semset", "set", "--id", "1", "--values", "1,40000"], "give 0 to 32767 (SEMVMX)"),
            (["semset", "op", "--id", "1", "0:-40000"], "give -32767 to 32767 (SEMVMX)"),
            (["semset", "op", "--id", "1", "99999999999999999999:+1"], "MEMBER:DELTA"),
            (["semset", "op", "--id", "1", "-1:+1"], "operation '-1:+1': member out of range"),
            (["msg", "stat", "--id", "4294967296"], "give 0 to 2147483647"),
            (["msg", "stat", "--path", "/tmp", "--proj", "256"], "give 1 to 255"),
            (["shm", "create", "/x", "--size", "1", "--mode", "1000"], "0 to 777"),
            (["shm", "create", "/x", "--size", "1", "--mode", "8"], "0 to 777"),
            (["shm", "create", "/x", "--size", "9223372036854775808"], "give 0 to \(Int.max)"),
            (["mq", "watch", "/x", "--count", "1.5"], "not a decimal integer"),
            (["limits", "--raise-open-files", "-1"], "give 0 to \(UInt64.max)"),
        ]
        for (arguments, range) in cases {
            let run = try IPCTool.run(arguments, timeout: .seconds(30))
            #expect(run.status == .exited(64), "ipc \(arguments): \(run.stderr)")
            #expect(run.stderr.contains(range), "ipc \(arguments): \(run.stderr)")
        }
    }

    @Test("--timeout takes up to 9223372036 seconds (the nanoseconds fit 64 bits) and names that limit beyond it")
    func timeoutLimit() throws {
        let name = TestObjects.semaphoreName()
        _ = try PosixSemaphore.create(name, value: 1)
        defer { TestObjects.remove(.semaphore(name)) }
        let long = try IPCTool.run(["sem", "wait", name, "--timeout", "1e9"], timeout: .seconds(30))
        #expect(long.status == .exited(0), "a 31-year timeout is a timeout: \(long.stderr)")
        for value in ["1e10", "9223372037", "inf", "nan", "-0.5", "soon"] {
            let run = try IPCTool.run(["sem", "wait", name, "--timeout", value], timeout: .seconds(30))
            #expect(run.status == .exited(64), "--timeout \(value): \(run.stderr)")
            #expect(run.stderr.contains("0 to 9223372036"), "--timeout \(value): \(run.stderr)")
        }
        #expect(try PosixSemaphore.open(name).value == 0)
    }

    @Test("--key 0 and --key 012 are refused with what to write instead; 'private' makes a private object")
    func keySyntax() throws {
        let zero = try IPCTool.run(["msg", "create", "--key", "0"], timeout: .seconds(30))
        #expect(zero.status == .exited(64), "\(zero.stderr)")
        #expect(zero.stderr.contains("IPC_PRIVATE") && zero.stderr.contains("\"private\""), "\(zero.stderr)")
        let octal = try IPCTool.run(["msg", "stat", "--key", "012"], timeout: .seconds(30))
        #expect(octal.status == .exited(64), "\(octal.stderr)")
        #expect(octal.stderr.contains("leading 0 is ambiguous"), "\(octal.stderr)")
        let sysvShm = try IPCTool.run(["shm", "stat", "--sysv", "--key", "0x0"], timeout: .seconds(30))
        #expect(sysvShm.status == .exited(64), "\(sysvShm.stderr)")

        let made = try IPCTool.run(["msg", "create", "--key", "private"], timeout: .seconds(30))
        let id = try #require(Int32(made.stdout.trimmingCharacters(in: ["\n"])), "\(made.stderr)")
        defer { TestObjects.remove(.systemV(.messageQueue, id: id)) }
        #expect(try SystemVMessageQueue(id: id).status().permissions.key == .private)
    }
}
