@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory of this test's own under /tmp, removed with what is in it.
func withLockDirectory<R>(_ body: (String) throws -> R) throws -> R {
    var template = Array("/tmp/ipct-reclock-XXXXXX".utf8CString)
    try #require(mkdtemp(&template) != nil)
    let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { removeLockDirectory(directory) }
    return try body(directory)
}

func withLockDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    var template = Array("/tmp/ipct-reclock-XXXXXX".utf8CString)
    try #require(mkdtemp(&template) != nil)
    let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { removeLockDirectory(directory) }
    return try await body(directory)
}

private func removeLockDirectory(_ directory: String) {
    if let dir = opendir(directory) {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { _ = unlink(directory + "/" + name) }
        }
        closedir(dir)
    }
    _ = rmdir(directory)
}

/// The system call number of `fcntl`, for `waitUntilBlocked`.
#if arch(x86_64)
let fcntlSyscall = 72
#elseif arch(arm64)
let fcntlSyscall = 25
#endif

/// The record locks /proc/locks shows on the file at `path`.
func locksOnFile(_ path: String) -> [IPCInventory.Entry] {
    var info = stat()
    guard stat(path, &info) == 0 else { return [] }
    return IPCInventory.snapshot(kinds: [.recordLock]).entries.filter { $0.lock?.inode == UInt64(info.st_ino) }
}

/// Runs the peer to completion; its one line.
func peerLine(_ command: String, _ arguments: [String]) throws -> String {
    try peerLine(Spawn(TestPeer.path, arguments: [command] + arguments))
}

/// Runs the peer to completion with `descriptor` handed down as 3; its one line.
func peerLine(_ command: String, _ arguments: [String], handing descriptor: borrowing OwnedDescriptor) throws -> String {
    var spawn = Spawn(TestPeer.path, arguments: [command] + arguments)
    try spawn.inherit(descriptor, as: 3)
    return try peerLine(spawn)
}

private func peerLine(_ spawn: Spawn) throws -> String {
    let command = spawn.arguments.joined(separator: " ")
    let run = try runToCompletion(spawn, timeout: .seconds(30))
    #expect(run.status == .exited(0), "\(command): \(run.stderr)")
    return run.stdout.trimmingCharacters(in: .newlines)
}

@Suite("Record locks (Y8)")
struct RecordLockTests {
    @Test("A POSIX lock's conflict names the holder's pid, access and range; other ranges stay free")
    func conflictNamesTheHolder() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", ["posix", path, "exclusive", "10", "20"])
            #expect(try holder.line() == "locked \(holder.pid)")
            let lock = try RecordLock(path: FilePath(path))
            #expect(try !lock.tryLock(.exclusive, range: .bytes(0..<100)))
            #expect(try !lock.tryLock(.shared, range: .bytes(29..<30)))
            let conflict = try #require(try lock.conflict(.shared, range: .bytes(0..<100)))
            #expect(conflict.holder == .process(holder.pid) && conflict.holderPID == holder.pid)
            #expect(conflict.access == .exclusive && conflict.range == .bytes(10..<30))
            #expect(try lock.tryLock(.exclusive, range: .bytes(30..<40)), "the bytes after the peer's range are free")
            #expect(try lock.tryLock(.exclusive, range: .bytes(0..<10)), "and the bytes before it")
            #expect(try lock.conflict(.exclusive, range: .bytes(40..<50)) == nil)
            #expect(try holder.finish() == .exited(0))
        }
    }

    @Test("Shared locks coexist; an exclusive one conflicts with them", arguments: ["posix", "ofd", "flock"])
    func sharedAndExclusive(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", [kind, path, "shared"])
            #expect(try holder.line() == "locked \(holder.pid)")
            #expect(try peerLine("reclock-try", [kind, path, "shared"]) == "acquired")
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "busy")
            if kind != "flock" {
                let expected = kind == "posix" ? "conflict pid \(holder.pid)" : "conflict ofd"
                #expect(try peerLine("reclock-query", [kind, path, "exclusive"]) == expected)
                #expect(try peerLine("reclock-query", [kind, path, "shared"]) == "conflict none")
            }
            #expect(try holder.finish() == .exited(0))
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "acquired")
        }
    }

    @Test("A lock is released when its holder is SIGKILLed", arguments: ["posix", "ofd", "flock"])
    func releasedWhenTheHolderIsKilled(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", [kind, path, "exclusive"])
            #expect(try holder.line() == "locked \(holder.pid)")
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "busy")
            #expect(try holder.kill() == .signalled(SIGKILL, coreDumped: false))
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "acquired")
            #expect(!locksOnFile(path).contains { $0.holderPID == holder.pid }, "nothing of the dead peer is left")
        }
    }

    @Test("A peer taking and releasing the lock, SIGKILLed at 200 random points: the lock is always free afterwards",
          arguments: ["posix", "ofd", "flock"])
    func killedAtRandomPoints(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            var heldAtKill = 0
            for round in 0..<200 {
                let churn = try PeerSession("lock-churn", [kind, path])
                #expect(try churn.line() == "ready")
                // Kill it while it holds the lock or while it does not, at random.
                var info = stat()
                #expect(eventually { stat(path, &info) == 0 })
                let held = Bool.random()
                #expect(eventually { ((try? InventoryText.read("/proc/locks")) ?? "").split(separator: "\n").contains { $0.contains(":\(info.st_ino) ") } == held })
                #expect(try churn.kill() == .signalled(SIGKILL, coreDumped: false))
                if held { heldAtKill += 1 }
                #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "acquired", "round \(round)")
            }
            #expect(heldAtKill > 0)
        }
    }

    @Test("A POSIX lock is not inherited by a spawned child, even one handed the descriptor; spawning does not drop it")
    func posixLockNotInherited() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let lock = try RecordLock(path: FilePath(path))
            try lock.lock(.exclusive)
            // F_GETLK never reports the caller's own locks: the child sees ours.
            #expect(try peerLine("reclock-query", ["posix", "fd:3", "exclusive"], handing: lock.descriptor) == "conflict pid \(getpid())")
            #expect(try peerLine("reclock-try", ["posix", "fd:3", "exclusive"], handing: lock.descriptor) == "busy")
            // The spawn's duplicate of the file was closed after the child started:
            // the lock is still ours.
            #expect(try peerLine("reclock-query", ["posix", path, "exclusive"]) == "conflict pid \(getpid())")
            #expect(PosixLockRegistry.deferredCount(onFileOf: lock.descriptor.rawValue) == 2, "the two spawns' duplicates wait for the lock's end")
            _ = consume lock
            let probe = open(path, O_RDONLY | O_CLOEXEC)
            defer { close(probe) }
            #expect(PosixLockRegistry.deferredCount(onFileOf: probe) == 0, "closed with the last RecordLock of the file")
        }
    }

    @Test("An open-file-description lock is shared by a spawned child handed the descriptor")
    func openFileLockSharedWithChild() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let lock = try OpenFileLock(path: FilePath(path))
            try lock.lock(.exclusive)
            #expect(try peerLine("reclock-query", ["ofd", "fd:3", "exclusive"], handing: lock.descriptor) == "conflict none")
            #expect(try peerLine("reclock-query", ["ofd", path, "exclusive"]) == "conflict ofd")
            #expect(try peerLine("reclock-try", ["flock", path, "exclusive"]) == "acquired", "flock locks are independent of fcntl locks")
        }
    }

    @Test("The POSIX trap: closing any other descriptor of the file drops the lock; an OFD or flock lock stays")
    func closingAnotherDescriptor() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let posix = try PeerSession("reclock-hold", ["posix", path, "exclusive"])
            #expect(try posix.line() == "locked \(posix.pid)")
            #expect(try peerLine("reclock-try", ["posix", path, "exclusive"]) == "busy")
            try posix.send("close-other")
            #expect(try posix.line() == "closed")
            #expect(try peerLine("reclock-try", ["posix", path, "exclusive"]) == "acquired", "the kernel dropped the POSIX lock")
            #expect(try posix.finish() == .exited(0))

            let ofd = try PeerSession("reclock-hold", ["ofd", path, "exclusive"])
            #expect(try ofd.line() == "locked \(ofd.pid)")
            try ofd.send("close-other")
            #expect(try ofd.line() == "closed")
            #expect(try peerLine("reclock-try", ["ofd", path, "exclusive"]) == "busy", "the OFD lock is still held")
            #expect(try ofd.finish() == .exited(0))

            let whole = try PeerSession("reclock-hold", ["flock", path, "exclusive"])
            #expect(try whole.line() == "locked \(whole.pid)")
            try whole.send("close-other")
            #expect(try whole.line() == "closed")
            #expect(try peerLine("reclock-try", ["flock", path, "exclusive"]) == "busy", "the flock lock is still held")
            #expect(try whole.finish() == .exited(0))
            #expect(try peerLine("reclock-try", ["flock", path, "exclusive"]) == "acquired")
        }
    }

    @Test("Nothing in the library drops a user's POSIX lock: a mapping of the file, unmapped")
    func mappingDoesNotDropTheLock() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let lock = try RecordLock(path: FilePath(path))
            #expect(ftruncate(lock.descriptor.rawValue, off_t(MemoryMapping.pageSize)) == 0)
            try lock.lock(.exclusive)
            do {
                let mapping = try MemoryMapping(lock.descriptor)
                try mapping.unmap()
            }
            #expect(try peerLine("reclock-query", ["posix", path, "exclusive"]) == "conflict pid \(getpid())")
        }
    }

    @Test("EDEADLK: two processes each waiting for the other's POSIX lock")
    func deadlockReported() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let lock = try RecordLock(path: FilePath(path))
            try lock.lock(.exclusive, range: .bytes(0..<1))
            let peer = try PeerSession("reclock-deadlock", [path])
            #expect(try peer.line() == "locked")
            try peer.send("go")
            #expect(waitUntilBlocked(pid: peer.pid, inSyscall: fcntlSyscall), "the peer waits for byte 0")
            #expect {
                try lock.lock(.exclusive, range: .bytes(1..<2), timeout: .seconds(30))
            } throws: { error in
                let error = error as! IPCError
                return error.errno == .deadlock && error.operation == "fcntl(F_SETLKW)"
                    && "\(error)".contains("bytes 1..<2") && "\(error)".contains(path)
            }
            try lock.unlock(range: .bytes(0..<1))
            #expect(try peer.line() == "locked 0")
            #expect(try peer.finish() == .exited(0))
        }
    }

    @Test("Time-bounded forms throw ETIMEDOUT, naming the call, file and range", arguments: ["posix", "ofd", "flock"])
    func timeBounded(kind: String) async throws {
        try await withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", [kind, path, "exclusive"])
            #expect(try holder.line() == "locked \(holder.pid)")
            switch kind {
            case "posix":
                let lock = try RecordLock(path: FilePath(path))
                #expect(try timesOut { try lock.lock(.shared, timeout: .milliseconds(100)) })
                #expect(try await timesOut { try await lock.lockAsync(.shared, timeout: .milliseconds(100)) })
            case "ofd":
                let lock = try OpenFileLock(path: FilePath(path))
                #expect(try timesOut { try lock.lock(.shared, timeout: .milliseconds(100)) })
                #expect(try await timesOut { try await lock.lockAsync(.shared, timeout: .milliseconds(100)) })
            default:
                let lock = try WholeFileLock(path: FilePath(path))
                #expect(try timesOut { try lock.lock(.shared, timeout: .milliseconds(100)) })
                #expect(try await timesOut { try await lock.lockAsync(.shared, timeout: .milliseconds(100)) })
            }
            #expect(locksOnFile(path).allSatisfy { !$0.isWaitingRequest(of: getpid()) }, "no request left waiting")
            #expect(try holder.finish() == .exited(0))
        }
    }

    @Test("Async lock: granted when the holder lets go; cancelled → CancellationError with nothing held or waiting")
    func asyncLock() async throws {
        try await withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", ["posix", path, "exclusive"])
            #expect(try holder.line() == "locked \(holder.pid)")
            let me = getpid()
            let waiting = Task { () async throws -> String in
                let lock = try RecordLock(path: FilePath(path))
                do {
                    try await lock.lockAsync(.exclusive)
                    return "locked"
                } catch is CancellationError {
                    let mine = locksOnFile(path).filter { $0.holderPID == me }
                    return mine.isEmpty ? "cancelled, nothing held" : "cancelled, left \(mine)"
                }
            }
            #expect(await eventually { locksOnFile(path).contains { $0.isWaitingRequest(of: me) } }, "the task waits in F_SETLKW")
            waiting.cancel()
            #expect(try await waiting.value == "cancelled, nothing held")

            let granted = Task { () async throws -> Bool in
                let lock = try RecordLock(path: FilePath(path))
                try await lock.lockAsync(.exclusive, timeout: .seconds(30))
                return locksOnFile(path).contains { $0.holderPID == me && $0.lock?.isWaiting == false }
            }
            #expect(await eventually { locksOnFile(path).contains { $0.isWaitingRequest(of: me) } })
            try holder.send("unlock")
            #expect(try holder.line() == "unlocked")
            #expect(try await granted.value, "held once the peer unlocked")
            #expect(try holder.finish() == .exited(0))
        }
    }

    @Test("ipc ls (the inventory) shows a lock taken through the library with its style and holder")
    func inventoryShowsLibraryLocks() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let posix = try RecordLock(path: FilePath(path))
            try posix.lock(.exclusive, range: .bytes(5..<15))
            let ofd = try OpenFileLock(path: FilePath(path))
            try ofd.lock(.shared, range: .bytes(20..<30))
            let whole = try WholeFileLock(path: FilePath(path))
            try whole.lock(.shared)
            let locks = locksOnFile(path)
            let p = try #require(locks.first { $0.lock?.style == .posix })
            #expect(p.holderPID == getpid() && p.lock?.access == .write && p.lock?.start == 5 && p.lock?.end == 14)
            #expect(p.path == Array(path.utf8))
            let o = try #require(locks.first { $0.lock?.style == .openFileDescription })
            #expect(o.holderPID == nil && o.lock?.access == .read && o.lock?.start == 20 && o.lock?.end == 29)
            let f = try #require(locks.first { $0.lock?.style == .flock })
            #expect(f.holderPID == getpid() && f.lock?.access == .read && f.lock?.end == nil)
        }
    }

    @Test("Bad input: a lock file path that is a symbolic link is refused; a read-only descriptor cannot hold an exclusive fcntl lock")
    func badInput() throws {
        try withLockDirectory { directory in
            let target = directory + "/target", link = directory + "/link"
            #expect(close(open(target, O_CREAT | O_WRONLY, 0o600)) == 0)
            #expect(symlink(target, link) == 0)
            #expect { try RecordLock(path: FilePath(link)) } throws: { ($0 as! IPCError).errno == .tooManySymbolicLinkLevels }
            let readOnly = try OwnedDescriptor(adopting: FileDescriptor.open(target, .readOnly, options: .closeOnExec))
            let lock = RecordLock(adopting: readOnly)
            #expect { try lock.lock(.exclusive) } throws: { error in
                let error = error as! IPCError
                return error.errno == .badFileDescriptor && "\(error)".contains("open for writing")
            }
        }
    }
}

/// Another program, running until its stdin closes; its first stdout line.
final class HoldingProgram {
    private var child: ChildProcess
    private var input: PipeWriter?
    let firstLine: String
    var pid: pid_t { child.pid }

    init(_ program: String, _ arguments: [String]) throws {
        let stdin = try Pipe(), stdout = try Pipe()
        var spawn = Spawn(program, arguments: arguments)
        try spawn.inherit(stdin.reader.descriptor, as: 0)
        try spawn.inherit(stdout.writer.descriptor, as: 1)
        child = try spawn.start()
        let writer = stdin.writer
        input = consume writer
        try stdout.writer.close()
        let reader = stdout.reader
        var line: [UInt8] = []
        var byte = [UInt8](repeating: 0, count: 1)
        let deadline = Deadline.after(.seconds(30))
        while true {
            let count = try byte.withUnsafeMutableBytes { try reader.read(into: $0, until: deadline) }
            if count == 0 || byte[0] == UInt8(ascii: "\n") { break }
            line.append(byte[0])
        }
        firstLine = String(decoding: line, as: UTF8.self)
    }

    /// Closes its stdin and waits for it to end.
    func finish() throws -> ChildStatus {
        if let writer = input.take() { try writer.close() }
        return try child.wait(timeout: .seconds(30))
    }

    deinit {
        if child.terminationStatus == nil {
            try? child.signal(SIGKILL)
            _ = try? child.wait()
        }
    }
}

/// The path of `program` on PATH, or nil (the test then says why it skips).
func programPath(_ program: String) -> String? {
    for directory in ["/usr/bin", "/bin", "/usr/local/bin"] where access(directory + "/" + program, X_OK) == 0 {
        return directory + "/" + program
    }
    return nil
}

@Suite("Record locks with other programs (Y8)")
struct RecordLockInteropTests {
    @Test("A flock taken here blocks util-linux flock(1), and one flock(1) holds blocks this library")
    func utilLinuxFlock() throws {
        guard let flock = programPath("flock") else {
            print("skipped: util-linux flock(1) is not installed")
            return
        }
        try withLockDirectory { directory in
            let path = directory + "/file"
            let lock = try WholeFileLock(path: FilePath(path))
            try lock.lock(.exclusive)
            #expect(try runToCompletion(Spawn(flock, arguments: ["-n", path, "true"]), timeout: .seconds(30)).status == .exited(1))
            try lock.unlock()
            #expect(try runToCompletion(Spawn(flock, arguments: ["-n", path, "true"]), timeout: .seconds(30)).status == .exited(0))

            let holder = try HoldingProgram(flock, [path, "sh", "-c", "echo held; cat"])
            #expect(holder.firstLine == "held")
            #expect(try !lock.tryLock(.shared))
            #expect(try holder.finish() == .exited(0))
            #expect(try lock.tryLock(.exclusive))
        }
    }

    @Test("A lock taken here blocks a Python fcntl.lockf peer, and its lock shows its pid here", arguments: ["posix", "ofd"])
    func pythonLockf(kind: String) throws {
        guard let python = programPath("python3") else {
            print("skipped: python3 is not installed")
            return
        }
        try withLockDirectory { directory in
            let path = directory + "/file"
            let tryLockf = "import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\nexcept OSError:\n sys.exit(3)"
            let holdLockf = "import fcntl,sys\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('held',flush=True)\nsys.stdin.read()"
            do {
                let lock = try RecordLock(path: FilePath(path))
                if kind == "posix" {
                    try lock.lock(.exclusive)
                    #expect(try runToCompletion(Spawn(python, arguments: ["-c", tryLockf, path]), timeout: .seconds(30)).status == .exited(3))
                } else {
                    let ofd = try OpenFileLock(path: FilePath(path))
                    try ofd.lock(.shared)
                    #expect(try runToCompletion(Spawn(python, arguments: ["-c", tryLockf, path]), timeout: .seconds(30)).status == .exited(3))
                }
            }
            #expect(try runToCompletion(Spawn(python, arguments: ["-c", tryLockf, path]), timeout: .seconds(30)).status == .exited(0))

            let holder = try HoldingProgram(python, ["-c", holdLockf, path])
            #expect(holder.firstLine == "held")
            if kind == "posix" {
                let lock = try RecordLock(path: FilePath(path))
                #expect(try !lock.tryLock(.shared))
                #expect(try lock.conflict(.shared)?.holder == .process(holder.pid))
            } else {
                let lock = try OpenFileLock(path: FilePath(path))
                #expect(try !lock.tryLock(.shared))
                #expect(try lock.conflict(.shared)?.holder == .process(holder.pid), "a POSIX holder has a pid even to F_OFD_GETLK")
            }
            #expect(try holder.finish() == .exited(0))
        }
    }
}

extension IPCInventory.Entry {
    /// A request of process `pid` waiting in /proc/locks (`->`).
    func isWaitingRequest(of pid: pid_t) -> Bool { lock?.isWaiting == true && holderPID == pid }
}
