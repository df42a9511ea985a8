import CInterprocess
import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The numbers in a /proc/sys file, read here without the library.
private func procNumbers(_ path: String) -> [UInt64]? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    guard fgets(&buffer, CInt(buffer.count), file) != nil else { return nil }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { UInt64($0) }
}

/// What `sysconf(name)` says, in the library's terms.
private func sysconfValue(_ name: Int) -> SystemLimit.Value {
    errno = 0
    let value = sysconf(CInt(name))
    if value >= 0 { return .number(UInt64(value)) }
    return errno == 0 ? .noFixedLimit : .notAvailable(reason: "")
}

@Suite("System limits (L1)")
struct LimitsTests {
    let limits = SystemLimits.current()

    @Test("every limit the notes name is reported, none as -1")
    func everyLimitIsThere() {
        let names = ["PIPE_BUF", "OPEN_MAX", "RLIMIT_NOFILE.soft", "RLIMIT_NOFILE.hard", "MQ_OPEN_MAX", "MQ_PRIO_MAX",
                     "fs.mqueue.msg_default", "fs.mqueue.msg_max", "fs.mqueue.msgsize_default", "fs.mqueue.msgsize_max",
                     "fs.mqueue.queues_max", "RLIMIT_MSGQUEUE.soft", "RLIMIT_MSGQUEUE.hard", "SEM_NSEMS_MAX", "SEM_VALUE_MAX",
                     "MSGMAX", "MSGMNB", "MSGMNI", "SEMMSL", "SEMMNS", "SEMOPM", "SEMMNI", "SHMMAX", "SHMMIN", "SHMALL", "SHMMNI",
                     "RTSIG_MAX", "SIGQUEUE_MAX", "RLIMIT_SIGPENDING.soft", "RLIMIT_SIGPENDING.hard", "SIGRTMIN", "SIGRTMAX"]
        #expect(limits.entries.map(\.name) == names)
        for entry in limits.entries {
            #expect(!entry.source.isEmpty && !entry.summary.isEmpty, "\(entry.name)")
            #expect(!entry.value.description.contains("-1"), "\(entry.name)")
        }
    }

    @Test("sysconf and fpathconf values match, and -1 reads as no fixed limit")
    func sysconfValues() throws {
        let pairs: [(String, Int)] = [
            ("OPEN_MAX", Int(_SC_OPEN_MAX)), ("MQ_OPEN_MAX", Int(_SC_MQ_OPEN_MAX)), ("MQ_PRIO_MAX", Int(_SC_MQ_PRIO_MAX)),
            ("SEM_NSEMS_MAX", Int(_SC_SEM_NSEMS_MAX)), ("SEM_VALUE_MAX", Int(_SC_SEM_VALUE_MAX)),
            ("RTSIG_MAX", Int(_SC_RTSIG_MAX)), ("SIGQUEUE_MAX", Int(_SC_SIGQUEUE_MAX)),
        ]
        for (name, code) in pairs {
            #expect(limits[name]?.value == sysconfValue(code), "\(name)")
        }
        var fds: [CInt] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(limits["PIPE_BUF"]?.value == .number(UInt64(fpathconf(fds[0], CInt(_PC_PIPE_BUF)))))
        #expect(limits["PIPE_BUF"]?.value == .number(UInt64(PIPE_BUF)))
        #expect(limits["SIGRTMIN"]?.value == .number(UInt64(cipc_sigrtmin())))
        #expect(limits["SIGRTMAX"]?.value == .number(UInt64(cipc_sigrtmax())))
        #expect(limits["SHMMIN"]?.value == .number(1))
    }

    @Test("resource limits match getrlimit")
    func resourceLimits() {
        let resources: [(String, Int32)] = [("RLIMIT_NOFILE", Int32(RLIMIT_NOFILE.rawValue)),
                                            ("RLIMIT_MSGQUEUE", Int32(__RLIMIT_MSGQUEUE.rawValue)),
                                            ("RLIMIT_SIGPENDING", Int32(__RLIMIT_SIGPENDING.rawValue))]
        for (name, code) in resources {
            var limit = rlimit()
            #expect(getrlimit(__rlimit_resource_t(code), &limit) == 0)
            func expected(_ value: rlim_t) -> SystemLimit.Value { value == rlim_t.max ? .unlimited : .number(UInt64(value)) }
            #expect(limits[name + ".soft"]?.value == expected(limit.rlim_cur), "\(name)")
            #expect(limits[name + ".hard"]?.value == expected(limit.rlim_max), "\(name)")
        }
    }

    @Test("/proc/sys values match the files")
    func procValues() throws {
        let single: [(String, String)] = [
            ("fs.mqueue.msg_default", "/proc/sys/fs/mqueue/msg_default"), ("fs.mqueue.msg_max", "/proc/sys/fs/mqueue/msg_max"),
            ("fs.mqueue.msgsize_default", "/proc/sys/fs/mqueue/msgsize_default"),
            ("fs.mqueue.msgsize_max", "/proc/sys/fs/mqueue/msgsize_max"), ("fs.mqueue.queues_max", "/proc/sys/fs/mqueue/queues_max"),
            ("MSGMAX", "/proc/sys/kernel/msgmax"), ("MSGMNB", "/proc/sys/kernel/msgmnb"), ("MSGMNI", "/proc/sys/kernel/msgmni"),
            ("SHMMAX", "/proc/sys/kernel/shmmax"), ("SHMALL", "/proc/sys/kernel/shmall"), ("SHMMNI", "/proc/sys/kernel/shmmni"),
        ]
        for (name, path) in single {
            guard let numbers = procNumbers(path) else {
                #expect(limits[name]?.value.number == nil, "\(name): \(path) is missing here")
                continue
            }
            #expect(limits[name]?.value == .number(numbers[0]), "\(name)")
            #expect(limits[name]?.source == path)
        }
        if let sem = procNumbers("/proc/sys/kernel/sem") {
            #expect(sem.count == 4)
            for (i, name) in ["SEMMSL", "SEMMNS", "SEMOPM", "SEMMNI"].enumerated() {
                #expect(limits[name]?.value == .number(sem[i]), "\(name)")
            }
        }
    }

    @Test("an unreadable /proc file or a failing getrlimit is 'not available', not a crash")
    func unavailable() throws {
        let missing = FaultInjection.inject(ENOENT, into: "open", count: 100) {
            FaultInjection.inject(EPERM, into: "getrlimit", count: 100) { SystemLimits.current() }
        }
        for name in ["MSGMAX", "SEMMNI", "SHMMAX", "fs.mqueue.msg_max", "RLIMIT_NOFILE.soft", "RLIMIT_SIGPENDING.hard"] {
            guard case .notAvailable(let reason)? = missing[name]?.value else {
                Issue.record("\(name) is \(String(describing: missing[name]?.value))")
                continue
            }
            #expect(reason.contains("ENOENT") || reason.contains("EPERM"), "\(name): \(reason)")
        }
        // What needs neither is still read.
        #expect(missing["PIPE_BUF"]?.value == .number(UInt64(PIPE_BUF)))
    }
}
