import CInterprocess
@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func fileText(_ path: String) -> String? {
    guard let fd = Optional(open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)), fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = read(fd, &buffer, buffer.count)
    return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
}

private func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

private func directoryNames(_ directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Whether the filesystem of `directory` makes unnamed files (`O_TMPFILE`).
private func unnamedFilesWork(in directory: String) -> Bool {
    let fd = open(directory, cipc_o_tmpfile() | O_RDWR | O_CLOEXEC, 0o600)
    if fd >= 0 { close(fd) }
    return fd >= 0
}

@Suite("Lock files (Y10)")
struct LockFileTests {
    @Test("Created holding pid, start time and PID namespace; held while it lives; released removes it")
    func createAndRelease() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            let lock = try LockFile.create(at: FilePath(path))
            let me = ProcessIdentity.current
            #expect(fileText(path) == "\(me.pid) \(me.startTime) \(me.pidNamespace)\n")
            #expect(me.startTime != 0)
            let holder = try #require(try LockFile.holder(at: FilePath(path)))
            #expect(holder.pid == getpid() && holder.isRunning == true)
            #expect(try LockFile.tryCreate(at: FilePath(path)) == nil, "held by a running process")
            #expect(directoryNames(directory) == ["app.lock"], "no temporary file left")
            try lock.release()
            #expect(directoryNames(directory).isEmpty)
            #expect(try LockFile.holder(at: FilePath(path)) == nil)
        }
    }

    @Test("Held by a running peer: nil, and create's EEXIST names the holder")
    func heldByAPeer() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            let peer = try PeerSession("lockfile-hold", [path])
            #expect(try peer.line() == "locked \(peer.pid)")
            #expect(try LockFile.tryCreate(at: FilePath(path)) == nil)
            #expect { try LockFile.create(at: FilePath(path)) } throws: { error in
                let error = error as! IPCError
                return error.errno == .fileExists && "\(error)".contains("process \(peer.pid)")
            }
            #expect(try peer.finish() == .exited(0))
            #expect(directoryNames(directory).isEmpty, "the peer released it")
        }
    }

    @Test("The lock file of a SIGKILLed owner is taken over")
    func staleAfterKill() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            let peer = try PeerSession("lockfile-hold", [path])
            #expect(try peer.line() == "locked \(peer.pid)")
            _ = try peer.kill()
            #expect(try LockFile.holder(at: FilePath(path))?.isRunning == false)
            let lock = try LockFile.create(at: FilePath(path))
            #expect(try LockFile.holder(at: FilePath(path))?.pid == getpid())
            try lock.release()
        }
    }

    @Test("Pid reuse does not fool it: a running pid with another start time is stale")
    func pidReuse() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            let me = ProcessIdentity.current
            writeFile(path, "\(me.pid) \(me.startTime + 1) \(me.pidNamespace)\n")
            #expect(try LockFile.holder(at: FilePath(path))?.isRunning == false)
            let lock = try LockFile.create(at: FilePath(path))
            #expect(fileText(path) == LockFile.text(of: me))
            try lock.release()
        }
    }

    @Test("A symbolic link planted at the path is never followed: the target is neither created nor changed (CVE-2025-68146)")
    func symlinkAttack() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock", victim = directory + "/victim", missing = directory + "/would-be-created"
            writeFile(victim, "precious\n")
            #expect(symlink(victim, path) == 0)
            #expect { try LockFile.tryCreate(at: FilePath(path)) } throws: { error in
                let error = error as! IPCError
                return error.errno == .tooManySymbolicLinkLevels && "\(error)".contains("symbolic link")
            }
            #expect(fileText(victim) == "precious\n")
            #expect(unlink(path) == 0 && symlink(missing, path) == 0)
            #expect(throws: IPCError.self) { try LockFile.tryCreate(at: FilePath(path)) }
            #expect(access(missing, F_OK) != 0, "the dangling link's target was not created")
            #expect(directoryNames(directory) == ["app.lock", "victim"], "no temporary file left")
        }
    }

    @Test("A peer taking and releasing the lock file, SIGKILLed at 200 random points: never junk, always taken next")
    func killedAtRandomPoints() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            var takeovers = 0
            for round in 0..<200 {
                let churn = try PeerSession("lock-churn", ["lockfile", path])
                #expect(try churn.line() == "ready")
                // Kill it while the lock file exists or while it does not, at random.
                let exists = Bool.random()
                #expect(eventually { (access(path, F_OK) == 0) == exists })
                #expect(try churn.kill() == .signalled(SIGKILL, coreDumped: false))
                if try LockFile.holder(at: FilePath(path)) != nil { takeovers += 1 }
                guard let lock = try LockFile.tryCreate(at: FilePath(path)) else {
                    Issue.record("round \(round): nil, though its holder is dead")
                    return
                }
                try lock.release()
            }
            // The content is written to an unnamed file (O_TMPFILE): a kill leaves
            // nothing. Only where the filesystem has none, a kill between creating
            // the named content file and removing it after the link leaves that
            // file behind (Locks/README.md, limits); never anything at the lock's path.
            if unnamedFilesWork(in: directory) {
                #expect(directoryNames(directory).isEmpty, "nothing left behind")
            } else {
                print("this filesystem has no O_TMPFILE: leftovers allowed are NAME.PID.RANDOM.tmp")
                #expect(directoryNames(directory).allSatisfy { $0.hasSuffix(".tmp") })
            }
            #expect(takeovers > 0, "some kills left a stale lock file to take over")
            print("lock file churn: \(takeovers) stale lock files taken over in 200 kills")
        }
    }

    @Test("Taken through an unnamed file (O_TMPFILE); where the filesystem refuses one, through a named file removed after the link")
    func unnamedContentFile() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            try #require(unnamedFilesWork(in: directory), "/tmp supports O_TMPFILE (tmpfs, ext4, xfs, btrfs do)")
            // Takes the lock file, looks at it and the directory, releases it.
            let takeAndRelease = { () throws(IPCError) -> (text: String?, names: [String]) in
                let lock = try LockFile.create(at: FilePath(path))
                let seen = (fileText(path), directoryNames(directory))
                try lock.release()
                return seen
            }
            let relevant: Set = ["openat", "linkat", "unlinkat"]
            let (direct, calls) = try FaultInjection.recordingCalls(during: takeAndRelease)
            #expect(direct.text == LockFile.text(of: .current) && direct.names == ["app.lock"])
            #expect(calls.map(\.syscall).filter(relevant.contains) == ["openat", "linkat", "unlinkat"],
                    "an unnamed file linked; only release removes anything: \(calls)")

            let (fallback, fallbackCalls) = try FaultInjection.recordingCalls { () throws(IPCError) in
                try FaultInjection.inject(EOPNOTSUPP, into: "openat", during: takeAndRelease)
            }
            #expect(fallback.text == LockFile.text(of: .current))
            #expect(fallback.names == ["app.lock"], "the named file was removed right after the link")
            #expect(fallbackCalls.map(\.syscall).filter(relevant.contains) == ["openat", "linkat", "unlinkat", "unlinkat"],
                    "O_TMPFILE refused, the named file linked and removed, then the release: \(fallbackCalls)")
            #expect(directoryNames(directory).isEmpty)
        }
    }

    @Test("Junk at the path is an error, never taken over")
    func junk() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            writeFile(path, "hello")
            #expect { try LockFile.tryCreate(at: FilePath(path)) } throws: { ($0 as! IPCError).errno == .invalidArgument }
            #expect(fileText(path) == "hello")
        }
    }

    @Test("Four processes racing to take over one stale lock file: exactly one wins, every time")
    func raceForAStaleLock() throws {
        try withLockDirectory { directory in
            let path = directory + "/app.lock"
            let me = ProcessIdentity.current
            for round in 0..<10 {
                writeFile(path, "\(me.pid) \(me.startTime + 1) \(me.pidNamespace)\n")
                let peers = try (0..<4).map { _ in try PeerSession("lockfile-race", [path]) }
                for peer in peers { try peer.send("go") }
                let outcomes = try peers.map { try $0.line() }
                #expect(outcomes.filter { $0 == "won" }.count == 1 && outcomes.filter { $0 == "held" }.count == 3,
                        "round \(round): \(outcomes)")
                for peer in peers { #expect(try peer.finish() == .exited(0)) }
                #expect(directoryNames(directory).isEmpty, "round \(round): the winner released it, nothing else left")
            }
        }
    }
}
