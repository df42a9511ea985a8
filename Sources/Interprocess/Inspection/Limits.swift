import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// One limit of this host or process, as `SystemLimits` reports it (SPEC L1).
public struct SystemLimit: Sendable, Hashable, CustomStringConvertible {
    /// What the limit is now.
    public enum Value: Sendable, Hashable, CustomStringConvertible {
        /// A number, in the limit's `unit`.
        case number(UInt64)
        /// A resource limit set to `RLIM_INFINITY`.
        case unlimited
        /// `sysconf` returned -1 without setting `errno`: the system has no fixed
        /// limit (it depends on other resources, e.g. memory).
        case noFixedLimit
        /// The value could not be read here (a missing /proc file, an unknown
        /// `sysconf` name); `reason` says why.
        case notAvailable(reason: String)

        /// The number, or nil when there is none.
        public var number: UInt64? {
            if case .number(let value) = self { return value }
            return nil
        }

        /// `1024`, `unlimited`, `no fixed limit` or `not available`.
        public var description: String {
            switch self {
            case .number(let value): String(value)
            case .unlimited: "unlimited"
            case .noFixedLimit: "no fixed limit"
            case .notAvailable: "not available"
            }
        }
    }

    /// The facility a limit belongs to, in the order `ipc limits` prints them.
    public enum Category: String, Sendable, Hashable, CaseIterable {
        case descriptors = "Pipes and descriptors"
        case posixMessageQueues = "POSIX message queues"
        case posixSemaphores = "POSIX semaphores"
        case systemVMessages = "System V message queues"
        case systemVSemaphores = "System V semaphores"
        case systemVSharedMemory = "System V shared memory"
        case signals = "Realtime signals"
    }

    /// The name the notes and the C headers use: `PIPE_BUF`, `MSGMAX`,
    /// `RLIMIT_NOFILE.soft`, or the sysctl name (`fs.mqueue.msg_max`) where C has none.
    public var name: String
    public var value: Value
    /// What the number counts: `bytes`, `messages`, `descriptors`, `pages`…
    public var unit: String
    /// One line on what the limit bounds.
    public var summary: String
    /// Where the value was read: `sysconf(_SC_MQ_PRIO_MAX)`, `/proc/sys/kernel/msgmax`…
    public var source: String
    public var category: Category

    public init(name: String, value: Value, unit: String, summary: String, source: String, category: Category) {
        self.name = name
        self.value = value
        self.unit = unit
        self.summary = summary
        self.source = source
        self.category = category
    }

    public var description: String { "\(name) = \(value) \(unit) (\(source))" }
}

/// Every limit the notes name, read from this host and process (SPEC L1): PIPE_BUF,
/// OPEN_MAX and RLIMIT_NOFILE, the POSIX queue and semaphore limits, the System V
/// msg/sem/shm limits, and the realtime signal limits.
///
/// ```swift
/// for limit in SystemLimits.current().entries { print(limit) }
/// let pipeBuffer = SystemLimits.current()["PIPE_BUF"]?.value.number
/// ```
///
/// Reading never fails: what cannot be read is `.notAvailable` with the reason.
/// The corresponding C functions are `sysconf`, `fpathconf` and `getrlimit`, and
/// the files under `/proc/sys/kernel` and `/proc/sys/fs/mqueue`.
public struct SystemLimits: Sendable {
    public var entries: [SystemLimit]

    public init(entries: [SystemLimit]) { self.entries = entries }

    /// The entry called `name`, e.g. `"SEMMNI"`.
    public subscript(name: String) -> SystemLimit? { entries.first { $0.name == name } }

    /// Reads every limit now.
    public static func current() -> SystemLimits {
        var reader = Reader()
        reader.descriptors()
        reader.posixMessageQueues()
        reader.posixSemaphores()
        reader.systemV()
        reader.signals()
        return SystemLimits(entries: reader.entries)
    }
}

/// Builds the entries, one facility at a time.
private struct Reader {
    var entries: [SystemLimit] = []
    var category = SystemLimit.Category.descriptors

    mutating func add(_ name: String, _ value: SystemLimit.Value, _ unit: String, _ summary: String, from source: String) {
        entries.append(SystemLimit(name: name, value: value, unit: unit, summary: summary, source: source, category: category))
    }

    mutating func descriptors() {
        category = .descriptors
        add("PIPE_BUF", pipeBuffer(), "bytes", "largest write to a pipe or FIFO that is never interleaved", from: "fpathconf(pipe, _PC_PIPE_BUF)")
        add("OPEN_MAX", sysconfValue(CInt(_SC_OPEN_MAX)), "descriptors", "descriptors a process may have open", from: "sysconf(_SC_OPEN_MAX)")
        resourceLimit(.openFiles, "descriptors", "open descriptors")
    }

    mutating func posixMessageQueues() {
        category = .posixMessageQueues
        add("MQ_OPEN_MAX", sysconfValue(CInt(_SC_MQ_OPEN_MAX)), "queues", "queues a process may have open", from: "sysconf(_SC_MQ_OPEN_MAX)")
        add("MQ_PRIO_MAX", sysconfValue(CInt(_SC_MQ_PRIO_MAX)), "priorities", "message priorities are 0 ..< MQ_PRIO_MAX", from: "sysconf(_SC_MQ_PRIO_MAX)")
        let dir = "/proc/sys/fs/mqueue/"
        kernelParameter("fs.mqueue.msg_default", dir + "msg_default", "messages", "capacity of a queue created without attributes")
        kernelParameter("fs.mqueue.msg_max", dir + "msg_max", "messages", "largest capacity an unprivileged creator may ask for")
        kernelParameter("fs.mqueue.msgsize_default", dir + "msgsize_default", "bytes", "message size of a queue created without attributes")
        kernelParameter("fs.mqueue.msgsize_max", dir + "msgsize_max", "bytes", "largest message size an unprivileged creator may ask for")
        kernelParameter("fs.mqueue.queues_max", dir + "queues_max", "queues", "queues on the host")
        resourceLimit(.messageQueueBytes, "bytes", "bytes in the real user's queues")
    }

    mutating func posixSemaphores() {
        category = .posixSemaphores
        add("SEM_NSEMS_MAX", sysconfValue(CInt(_SC_SEM_NSEMS_MAX)), "semaphores", "semaphores a process may have", from: "sysconf(_SC_SEM_NSEMS_MAX)")
        add("SEM_VALUE_MAX", sysconfValue(CInt(_SC_SEM_VALUE_MAX)), "", "largest value of a semaphore", from: "sysconf(_SC_SEM_VALUE_MAX)")
    }

    mutating func systemV() {
        category = .systemVMessages
        kernelParameter("MSGMAX", "/proc/sys/kernel/msgmax", "bytes", "largest message")
        kernelParameter("MSGMNB", "/proc/sys/kernel/msgmnb", "bytes", "bytes a queue holds")
        kernelParameter("MSGMNI", "/proc/sys/kernel/msgmni", "queues", "queues on the host")

        category = .systemVSemaphores
        let semPath = "/proc/sys/kernel/sem"
        let sem = KernelParameterFile(path: semPath).read()
        let semFields = [
            ("SEMMSL", "semaphores", "semaphores in one set"),
            ("SEMMNS", "semaphores", "semaphores on the host"),
            ("SEMOPM", "operations", "operations in one semop call"),
            ("SEMMNI", "sets", "semaphore sets on the host"),
        ]
        for (index, (name, unit, summary)) in semFields.enumerated() {
            let value: SystemLimit.Value
            switch sem {
            case .success(let numbers) where numbers.count > index: value = .number(numbers[index])
            case .success: value = .notAvailable(reason: "\(semPath) has fewer than \(index + 1) fields")
            case .failure(let failure): value = .notAvailable(reason: failure.reason)
            }
            add(name, value, unit, summary, from: "\(semPath) (field \(index + 1))")
        }

        category = .systemVSharedMemory
        kernelParameter("SHMMAX", "/proc/sys/kernel/shmmax", "bytes", "largest segment")
        add("SHMMIN", .number(1), "bytes", "smallest segment", from: "fixed by Linux")
        kernelParameter("SHMALL", "/proc/sys/kernel/shmall", "pages", "shared memory on the host, in pages of \(system_sysconf(CInt(_SC_PAGESIZE))) bytes")
        kernelParameter("SHMMNI", "/proc/sys/kernel/shmmni", "segments", "segments on the host")
    }

    mutating func signals() {
        category = .signals
        add("RTSIG_MAX", sysconfValue(CInt(_SC_RTSIG_MAX)), "signals", "realtime signals the system provides", from: "sysconf(_SC_RTSIG_MAX)")
        add("SIGQUEUE_MAX", sysconfValue(CInt(_SC_SIGQUEUE_MAX)), "signals", "signals a process may have queued", from: "sysconf(_SC_SIGQUEUE_MAX)")
        resourceLimit(.pendingSignals, "signals", "queued signals of the real user")
        add("SIGRTMIN", .number(UInt64(cipc_sigrtmin())), "", "lowest realtime signal number", from: "SIGRTMIN (libc)")
        add("SIGRTMAX", .number(UInt64(cipc_sigrtmax())), "", "highest realtime signal number", from: "SIGRTMAX (libc)")
    }

    // MARK: sources

    mutating func resourceLimit(_ resource: ResourceLimit.Resource, _ unit: String, _ what: String) {
        let name = resource.description
        let source = "getrlimit(\(name))"
        do {
            let limit = try ResourceLimit.current(resource)
            add(name + ".soft", limit.soft.map { .number($0) } ?? .unlimited, unit, "\(what): the limit in force", from: source + ".rlim_cur")
            add(name + ".hard", limit.hard.map { .number($0) } ?? .unlimited, unit, "\(what): the most the soft limit can be raised to", from: source + ".rlim_max")
        } catch {
            add(name + ".soft", .notAvailable(reason: error.description), unit, "\(what): the limit in force", from: source + ".rlim_cur")
            add(name + ".hard", .notAvailable(reason: error.description), unit, "\(what): the most the soft limit can be raised to", from: source + ".rlim_max")
        }
    }

    mutating func kernelParameter(_ name: String, _ path: String, _ unit: String, _ summary: String) {
        let value: SystemLimit.Value
        switch KernelParameterFile(path: path).read() {
        case .success(let numbers) where numbers.count == 1: value = .number(numbers[0])
        case .success: value = .notAvailable(reason: "\(path) does not hold one number")
        case .failure(let failure): value = .notAvailable(reason: failure.reason)
        }
        add(name, value, unit, summary, from: path)
    }

    /// -1 with errno unchanged is "no fixed limit"; -1 with errno set (EINVAL) is a
    /// name this libc does not know.
    func sysconfValue(_ name: CInt) -> SystemLimit.Value {
        let value = system_sysconf(name)
        if value >= 0 { return .number(UInt64(value)) }
        if lastErrno == 0 { return .noFixedLimit }
        return .notAvailable(reason: IPCError.last("sysconf", object: String(name)).description)
    }

    func pipeBuffer() -> SystemLimit.Value {
        do {
            let pipe = try Pipe()
            let value = system_fpathconf(pipe.reader.descriptor.rawValue, CInt(_PC_PIPE_BUF))
            if value >= 0 { return .number(UInt64(value)) }
            if lastErrno == 0 { return .noFixedLimit }
            return .notAvailable(reason: IPCError.last("fpathconf", fd: pipe.reader.descriptor.rawValue).description)
        } catch {
            return .notAvailable(reason: error.description)
        }
    }
}
