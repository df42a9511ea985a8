import ArgumentParser
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `ipc lock PATH [--shared] [--range START:LEN] [--kind posix|ofd|flock]
/// [--timeout T | --nowait] -- COMMAND…`: runs COMMAND while holding a lock on PATH
/// and exits with its status, as util-linux flock(1) does (SPEC Y8).
struct LockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Run a command while holding a record lock on a file.",
        discussion: """
            The file is created (mode 0600) when missing. The lock is held by ipc, which \
            waits for the command and exits with its status (128+N when signal N ended it). \
            When the lock cannot be had in time (--timeout, --nowait) ipc names its holder \
            and exits with status 2.

            """ + ExitStatus.table)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case posix, ofd, flock
    }

    @Argument(help: "The file to lock.") var path: String
    @Flag(help: "Take a shared lock (default: exclusive).") var shared = false
    @Option(help: ArgumentHelp("The bytes to lock, START:LENGTH (LENGTH 0: to the end; not with --kind flock).", valueName: "start:length"),
            transform: LockCommand.parseRange)
    var range: LockRange = .wholeFile
    @Option(help: "posix (fcntl, owned by the process), ofd (open file description) or flock (whole file, what flock(1) takes).")
    var kind: Kind = .flock
    @OptionGroup var waiting: WaitOptions
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --") }
        if kind == .flock && range != .wholeFile { throw ValidationError("--range needs --kind posix or ofd: flock locks the whole file") }
    }

    @Sendable static func parseRange(_ text: String) throws -> LockRange {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), let length = Int64(parts[1]), start >= 0, length >= 0 else {
            throw ValidationError("'\(text)' is not START:LENGTH with two non-negative integers, e.g. 0:100")
        }
        return LockRange(start: start, length: length)
    }

    func run() throws {
        let access: LockAccess = shared ? .shared : .exclusive
        switch kind {
        case .posix:
            let lock = try RecordLock(path: FilePath(path))
            try take({ () throws(IPCError) in try lock.tryLock(access, range: range) },
                     { (deadline) throws(IPCError) in try lock.lock(access, range: range, until: deadline) },
                     holder: { (try? lock.conflict(access, range: range)).flatMap { $0 }.map { "\($0.holder)" } })
            try runCommand()
        case .ofd:
            let lock = try OpenFileLock(path: FilePath(path))
            try take({ () throws(IPCError) in try lock.tryLock(access, range: range) },
                     { (deadline) throws(IPCError) in try lock.lock(access, range: range, until: deadline) },
                     holder: { (try? lock.conflict(access, range: range)).flatMap { $0 }.map { "\($0.holder)" } })
            try runCommand()
        case .flock:
            let lock = try WholeFileLock(path: FilePath(path))
            try take({ () throws(IPCError) in try lock.tryLock(access) },
                     { (deadline) throws(IPCError) in try lock.lock(access, until: deadline) },
                     holder: { flockHolder() })
            try runCommand()
        }
    }

    private func take(_ tryLock: () throws(IPCError) -> Bool, _ lock: (Deadline) throws(IPCError) -> Void,
                      holder: () -> String?) throws {
        if waiting.nowait {
            if try tryLock() { return }
        } else {
            do throws(IPCError) {
                try lock(waiting.deadline() ?? .distantFuture)
                return
            } catch {
                if !error.isTimeout { throw error }
            }
        }
        let who = holder().map { " by \($0)" } ?? ""
        throw fail("\(path) is locked\(who)", .notNow)
    }

    /// The holder of a flock lock on the file, from /proc/locks.
    private func flockHolder() -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let locks = IPCInventory.snapshot(kinds: [.recordLock]).entries
        return locks.first { $0.lock?.inode == UInt64(info.st_ino) && $0.lock?.style == .flock && $0.lock?.isWaiting == false }?
            .holderPID.map { "process \($0)" }
    }

    private func runCommand() throws {
        var spawn = Spawn(command[0], arguments: Array(command.dropFirst()))
        for number in CInt(0)...2 {
            let standard = OwnedDescriptor(adopting: FileDescriptor(rawValue: number))
            let inherited = Result { () throws(IPCError) in try spawn.inherit(standard, as: number) }
            _ = standard.release()  // ipc's own stdin, stdout, stderr stay open
            try inherited.get()
        }
        var child = try spawn.start()
        switch try child.wait() {
        case .exited(let status): throw ExitCode(status)
        case .signalled(let signal, _): throw ExitCode(128 + signal)
        default: throw ExitCode(ExitStatus.failed.rawValue)
        }
    }
}

extension LockConflict.Holder: CustomStringConvertible {
    public var description: String {
        switch self {
        case .process(let pid): "process \(pid)"
        case .openFileDescription: "an open file description (no pid)"
        }
    }
}
