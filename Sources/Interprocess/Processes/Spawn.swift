import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How to start a program: its argv, environment, working directory and exactly
/// which descriptors it inherits (SPEC P1).
///
/// The program is started with `posix_spawn` (never `fork` in a threaded Swift
/// process). The child inherits descriptors 0, 1 and 2 and the ones named with
/// `inherit(_:as:)`, and nothing else: every other descriptor is closed in the
/// child, even one another library opened without close-on-exec. Signal
/// dispositions and the signal mask are reset to their defaults in the child.
///
/// ```swift
/// var spawn = Spawn("/usr/bin/cat", arguments: ["-u"])
/// try spawn.inherit(pipe.reader.descriptor, as: 0)
/// var child = try spawn.start()
/// let status = try child.wait()
/// ```
///
/// `inherit` takes a duplicate of the descriptor, so the caller may close its own at
/// once; `start()` hands the duplicates to the child and closes them here, so after
/// the start the caller's descriptors are the only ones this process holds — a
/// pipe's reader sees end of file as soon as the child and the caller close their
/// write ends, as in C. To start another child with the same descriptors, name
/// them again.
public struct Spawn: Sendable {
    /// How the child's environment is built.
    public enum Environment: Sendable {
        /// This process's environment.
        case inherit
        /// This process's environment with these variables set (or removed, for nil).
        case inheritUpdating([String: String?])
        /// Exactly these variables.
        case custom([String: String])
    }

    /// Which process group the child joins.
    public enum ProcessGroup: Sendable, Equatable {
        /// A new group led by the child (its pgid is its pid).
        case new
        /// The existing group `pgid`.
        case join(pid_t)
    }

    /// A path, or a name to look up in `PATH` when it has no slash.
    public var executable: String
    /// argv[1...].
    public var arguments: [String]
    /// argv[0]; the executable when nil.
    public var argument0: String?
    public var environment: Environment = .inherit
    /// The child's working directory; this process's when nil.
    public var workingDirectory: FilePath?
    public var processGroup: ProcessGroup?
    /// Start the child in a new session (`setsid`), detached from the terminal.
    public var newSession = false
    /// Descriptor number in the child → this spawn's own duplicate of the
    /// descriptor it gets there (empty once handed to a child).
    private var inherited: [CInt: SpawnDescriptor] = [:]

    public init(_ executable: String, arguments: [String] = []) {
        self.executable = executable
        self.arguments = arguments
    }

    /// The descriptor numbers the child gets besides 0, 1 and 2 (or instead of
    /// them), named with `inherit(_:as:)`, in increasing order.
    public var inheritedNumbers: [CInt] { inherited.keys.sorted() }

    /// Hands `descriptor` to the child as descriptor number `target`; naming
    /// `target` again replaces the descriptor named before.
    ///
    /// The spawn keeps a duplicate of its own (close-on-exec, shared by the copies
    /// of this `Spawn`), so the caller keeps `descriptor` and may close it at once:
    /// the child still gets this open file, never whatever file reuses the number.
    /// The next successful `start()` hands the duplicate to its child and closes it
    /// here (a `Spawn` dropped unstarted closes it too). `EBADF` for a negative
    /// `target` or a `descriptor` that is not open.
    ///
    /// The corresponding C call is `fcntl(fd, F_DUPFD_CLOEXEC, 0)`.
    public mutating func inherit(_ descriptor: borrowing OwnedDescriptor, as target: CInt) throws(IPCError) {
        if target < 0 {
            throw IPCError(.badFileDescriptor, operation: "Spawn.inherit", object: IPCError.describe(path: executable),
                           detail: "descriptor target \(target) is negative")
        }
        inherited[target] = SpawnDescriptor(try descriptor.duplicate())
    }

    /// Starts the program, handing it the descriptors named with `inherit(_:as:)`;
    /// once it has started, this process closes its duplicates of them (on failure
    /// they stay, for another try). `EBADF` when a named descriptor was already
    /// handed to an earlier child: name it again. The corresponding C function is
    /// `posix_spawn` (or `posix_spawnp` for a name without a slash).
    public func start() throws(IPCError) -> ChildProcess {
        var handed = OwnedDescriptors()
        let targets = inherited.keys.sorted()
        var descriptorMap: [CInt: CInt] = [:]
        for target in targets {
            guard let descriptor = inherited[target]!.take() else {
                putBack(&handed, targets)
                throw IPCError(.badFileDescriptor, operation: "posix_spawn", object: IPCError.describe(path: executable),
                               detail: "child descriptor \(target) was handed to a child started before; name it again with inherit(_:as:)")
            }
            descriptorMap[target] = descriptor.rawValue
            handed.append(descriptor)
        }
        do throws(IPCError) {
            let child = try spawn(descriptorMap)
            // Not a plain close: a duplicate of a file this process holds POSIX
            // record locks on would release them (SPEC Y8).
            while let descriptor = handed.takeNext() {
                PosixLockRegistry.closeLibraryDescriptor(descriptor.release().rawValue)
            }
            return child
        } catch {
            putBack(&handed, targets)
            throw error
        }
    }

    /// Returns the duplicates taken for a start that did not happen to their boxes.
    private func putBack(_ handed: inout OwnedDescriptors, _ targets: [CInt]) {
        for (index, target) in targets.enumerated() {
            if let descriptor = handed.take(at: index) { inherited[target]!.putBack(descriptor) }
        }
    }

    private func spawn(_ descriptorMap: [CInt: CInt]) throws(IPCError) -> ChildProcess {
        LibrarySignals.ignoreBrokenPipe()
        var actions = posix_spawn_file_actions_t()
        try check(system_posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init")
        defer { _ = system_posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        try check(system_posix_spawnattr_init(&attributes), "posix_spawnattr_init")
        defer { _ = system_posix_spawnattr_destroy(&attributes) }

        try addDescriptorActions(&actions, descriptorMap)
        if let workingDirectory {
            try check(workingDirectory.withPlatformString { system_posix_spawn_file_actions_addchdir(&actions, $0) },
                      "posix_spawn_file_actions_addchdir_np", detail: "working directory \(workingDirectory)")
        }
        try configure(&attributes)

        let argv = [argument0 ?? executable] + arguments
        let envp = environmentStrings()
        var pid = pid_t()
        let rc = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envPointer in
                system_posix_spawn(&pid, executable, &actions, &attributes, argvPointer, envPointer,
                                   searchPath: !executable.contains("/"))
            }
        }
        if rc != 0 { throw IPCError(Errno(rawValue: rc), operation: "posix_spawn", object: IPCError.describe(path: executable)) }
        return try ChildProcess(spawned: pid)
    }

    /// dup2 every source to a scratch number above all sources and targets, then to
    /// its target, so overlapping maps (3→4, 4→3) cannot clobber each other; then
    /// close everything else above stderr.
    private func addDescriptorActions(_ actions: inout posix_spawn_file_actions_t, _ descriptorMap: [CInt: CInt]) throws(IPCError) {
        let targets = descriptorMap.keys.sorted()
        let highest = max(targets.last ?? 2, descriptorMap.values.max() ?? 2)
        let scratchBase = highest + 1
        for (i, target) in targets.enumerated() {
            let source = descriptorMap[target]!
            try check(system_posix_spawn_file_actions_adddup2(&actions, source, scratchBase + CInt(i)),
                      "posix_spawn_file_actions_adddup2", detail: "descriptor \(source) for child descriptor \(target)")
        }
        for (i, target) in targets.enumerated() {
            try check(system_posix_spawn_file_actions_adddup2(&actions, scratchBase + CInt(i), target),
                      "posix_spawn_file_actions_adddup2", detail: "child descriptor \(target)")
        }
        let maxTarget = max(targets.last ?? 2, 2)
        for fd in 3..<max(3, maxTarget) where descriptorMap[fd] == nil {
            try check(system_posix_spawn_file_actions_addclose(&actions, fd), "posix_spawn_file_actions_addclose",
                      detail: "child descriptor \(fd)")
        }
        try check(system_posix_spawn_file_actions_addclosefrom(&actions, maxTarget + 1), "posix_spawn_file_actions_addclosefrom_np")
    }

    private func configure(_ attributes: inout posix_spawnattr_t) throws(IPCError) {
        var flags = CInt(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        var none = sigset_t()
        sigemptyset(&none)
        try check(system_posix_spawnattr_setsigmask(&attributes, &none), "posix_spawnattr_setsigmask")
        var all = sigset_t()
        sigfillset(&all)
        try check(system_posix_spawnattr_setsigdefault(&attributes, &all), "posix_spawnattr_setsigdefault")
        switch processGroup {
        case .new:
            flags |= CInt(POSIX_SPAWN_SETPGROUP)
            try check(system_posix_spawnattr_setpgroup(&attributes, 0), "posix_spawnattr_setpgroup")
        case .join(let group):
            flags |= CInt(POSIX_SPAWN_SETPGROUP)
            try check(system_posix_spawnattr_setpgroup(&attributes, group), "posix_spawnattr_setpgroup", detail: "process group \(group)")
        case nil:
            break
        }
        if newSession { flags |= cipc_spawn_setsid_flag() }
        try check(system_posix_spawnattr_setflags(&attributes, Int16(flags)), "posix_spawnattr_setflags")
    }

    /// Throws when a spawn file action or attribute call (which return an error
    /// number rather than set errno) failed: the child is never started.
    private func check(_ rc: CInt, _ operation: String, detail: String? = nil) throws(IPCError) {
        if rc != 0 {
            throw IPCError(Errno(rawValue: rc), operation: operation, object: IPCError.describe(path: executable),
                           detail: detail.map { "preparing the child: \($0)" } ?? "preparing the child")
        }
    }

    private func environmentStrings() -> [String] {
        func current() -> [String: String] {
            var result: [String: String] = [:]
            var entry = environ
            while let pointer = entry.pointee {
                let text = String(cString: pointer)
                if let eq = text.firstIndex(of: "=") {
                    result[String(text[..<eq])] = String(text[text.index(after: eq)...])
                }
                entry += 1
            }
            return result
        }
        let variables: [String: String]
        switch environment {
        case .inherit: variables = current()
        case .custom(let custom): variables = custom
        case .inheritUpdating(let changes):
            var merged = current()
            for (key, value) in changes { merged[key] = value }
            variables = merged
        }
        return variables.map { "\($0.key)=\($0.value)" }.sorted()
    }
}

/// Runs `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A descriptor a `Spawn` hands to its child: the spawn's own duplicate, shared by
/// its copies (a `Spawn` is a copyable value), taken by the start that hands it
/// over, or closed with the last copy.
final class SpawnDescriptor: Sendable {
    private let slot: Mutex<OwnedDescriptor?>

    init(_ descriptor: consuming OwnedDescriptor) { slot = Mutex(descriptor) }

    deinit {
        // A duplicate never handed over (SPEC Y8: see PosixLockRegistry).
        if let descriptor = take() { PosixLockRegistry.closeLibraryDescriptor(descriptor.release().rawValue) }
    }

    func take() -> OwnedDescriptor? { slot.withLock { $0.take() } }

    func putBack(_ descriptor: consuming OwnedDescriptor) {
        var descriptor = Optional(descriptor)
        slot.withLock { $0 = descriptor.take() }
    }
}
