import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for RecordLockTests (SPEC Y8, Y10). KIND is posix, ofd or flock;
// FILE is a path, or fd:N for a descriptor the test handed down as N; a range is
// START LENGTH. Outcomes are one line: "locked PID", "acquired", "busy",
// "conflict pid N" / "conflict ofd" / "conflict none", or the errno name.

/// The three lock types behind one face, for the peer only.
protocol PeerLockable: ~Copyable {
    func tryLock(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> Bool
    func lock(_ access: LockAccess, _ range: LockRange, timeout: Duration) throws(IPCError)
    func unlock(_ range: LockRange) throws(IPCError)
    func conflict(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> LockConflict?
}

extension RecordLock: PeerLockable {
    func tryLock(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> Bool { try tryLock(access, range: range) }
    func lock(_ access: LockAccess, _ range: LockRange, timeout: Duration) throws(IPCError) { try lock(access, range: range, timeout: timeout) }
    func unlock(_ range: LockRange) throws(IPCError) { try unlock(range: range) }
    func conflict(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> LockConflict? { try conflict(access, range: range) }
}

extension OpenFileLock: PeerLockable {
    func tryLock(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> Bool { try tryLock(access, range: range) }
    func lock(_ access: LockAccess, _ range: LockRange, timeout: Duration) throws(IPCError) { try lock(access, range: range, timeout: timeout) }
    func unlock(_ range: LockRange) throws(IPCError) { try unlock(range: range) }
    func conflict(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> LockConflict? { try conflict(access, range: range) }
}

extension WholeFileLock: PeerLockable {
    func tryLock(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> Bool { try tryLock(access) }
    func lock(_ access: LockAccess, _ range: LockRange, timeout: Duration) throws(IPCError) { try lock(access, timeout: timeout) }
    func unlock(_ range: LockRange) throws(IPCError) { try unlock() }
    func conflict(_ access: LockAccess, _ range: LockRange) throws(IPCError) -> LockConflict? { nil }
}

/// Runs peer command `command` with the lock of `kind` on `file` (a path or fd:N).
func withPeerLock(_ command: String, _ args: [String]) throws -> Int32 {
    let kind = args[0], file = args[1]
    func descriptor() throws -> OwnedDescriptor? {
        guard file.hasPrefix("fd:"), let number = CInt(file.dropFirst(3)) else { return nil }
        return try OwnedDescriptor(inheritedNumber: number)
    }
    switch kind {
    case "posix":
        let lock = if let fd = try descriptor() { RecordLock(adopting: fd) } else { try RecordLock(path: FilePath(file)) }
        return try runPeerLockCommand(command, lock, args)
    case "ofd":
        let lock = if let fd = try descriptor() { OpenFileLock(adopting: fd) } else { try OpenFileLock(path: FilePath(file)) }
        return try runPeerLockCommand(command, lock, args)
    case "flock":
        let lock = if let fd = try descriptor() { WholeFileLock(adopting: fd) } else { try WholeFileLock(path: FilePath(file)) }
        return try runPeerLockCommand(command, lock, args)
    default:
        return 64
    }
}

func runPeerLockCommand<Lock: PeerLockable & ~Copyable>(_ command: String, _ lock: borrowing Lock, _ args: [String]) throws -> Int32 {
    let access = peerAccess(args[2]), range = peerRange(args, at: 3)
    switch command {
    case "hold":
        do { try lock.lock(access, range, timeout: .seconds(30)) } catch {
            say(error.errnoName)
            return 0
        }
        say("locked \(getpid())")
        while let line = readLine() {
            switch line {
            case "close-other":
                let fd = open(args[1], O_RDONLY | O_CLOEXEC)
                if fd >= 0 { close(fd) }
                say(fd >= 0 ? "closed" : "open failed")
            case "unlock":
                try lock.unlock(range)
                say("unlocked")
            default:
                say("unknown \(line)")
            }
        }
        return 0
    case "exec":
        try lock.lock(access, range, timeout: .seconds(30))
        say("locked \(getpid())")
        _ = readLine()
        // Nothing more is read here: what the test writes next stays in the pipe for cat.
        say("exec")
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cat"), nil]
        execv("/bin/cat", argv)
        say("exec failed")
        return 1
    case "try":
        say(try lock.tryLock(access, range) ? "acquired" : "busy")
        return 0
    case "query":
        say(describePeerConflict(try lock.conflict(access, range)))
        return 0
    case "churn":
        while true {
            try lock.lock(access, range, timeout: .seconds(30))
            try lock.unlock(range)
        }
    default:
        return 64
    }
}

func peerAccess(_ text: String) -> LockAccess { text == "shared" ? .shared : .exclusive }

func peerRange(_ args: [String], at index: Int) -> LockRange {
    guard args.count > index + 1, let start = Int64(args[index]), let length = Int64(args[index + 1]) else { return .wholeFile }
    return LockRange(start: start, length: length)
}

func describePeerConflict(_ conflict: LockConflict?) -> String {
    switch conflict?.holder {
    case nil: "conflict none"
    case .process(let pid)?: "conflict pid \(pid)"
    case .openFileDescription?: "conflict ofd"
    }
}

extension PeerCommands {
    static let recordLocks: [String: PeerCommand] = [
        // reclock-hold KIND FILE ACCESS [START LENGTH]: lock (30 s bound), print
        // "locked PID"; then per stdin line: "close-other" opens and closes another
        // descriptor of the file ("closed"), "unlock" ("unlocked"); exits at EOF.
        "reclock-hold": { args in try withPeerLock("hold", args) },
        // reclock-try KIND FILE ACCESS [START LENGTH]: try once; "acquired" or "busy".
        "reclock-try": { args in try withPeerLock("try", args) },
        // reclock-query KIND FILE ACCESS [START LENGTH]: the conflicting lock's holder.
        "reclock-query": { args in try withPeerLock("query", args) },
        // reclock-deadlock FILE: POSIX-lock byte 1, print "locked", wait for a line,
        // then lock byte 0 (30 s bound): "locked 0" or the errno name.
        "reclock-deadlock": { args in
            let lock = try RecordLock(path: FilePath(args[0]))
            try lock.lock(.exclusive, range: .bytes(1..<2), timeout: .seconds(30))
            say("locked")
            _ = readLine()
            do {
                try lock.lock(.exclusive, range: .bytes(0..<1), timeout: .seconds(30))
                say("locked 0")
            } catch let error as IPCError {
                say(error.errnoName)
            }
            return 0
        },
    ]
}

extension PeerCommands {
    static let lockFiles: [String: PeerCommand] = [
        // lockfile-hold PATH: take the lock file; "locked PID" or "held"; at EOF
        // release it.
        "lockfile-hold": { args in
            guard let lock = try LockFile.tryCreate(at: FilePath(args[0])) else {
                say("held")
                return 0
            }
            say("locked \(getpid())")
            while readLine() != nil {}
            try lock.release()
            return 0
        },
        // lockfile-race PATH: wait for a line, then try the lock file once: "won" or
        // "held" (or the errno name); at EOF release what it won.
        "lockfile-race": { args in
            _ = readLine()
            let lock: LockFile?
            do { lock = try LockFile.tryCreate(at: FilePath(args[0])) } catch let error as IPCError {
                say(error.errnoName)
                return 0
            }
            say(lock == nil ? "held" : "won")
            while readLine() != nil {}
            if let lock { try lock.release() }
            return 0
        },
    ]
}

extension PeerCommands {
    static let lockChurn: [String: PeerCommand] = [
        // lock-churn KIND PATH: print "ready", then for ever take and release the
        // lock (KIND posix, ofd, flock, or lockfile: the lock file PATH) until
        // killed. A lock file held by a running process (none here but this one)
        // is "held".
        "lock-churn": { args in
            say("ready")
            if args[0] == "lockfile" {
                while true {
                    guard let lock = try LockFile.tryCreate(at: FilePath(args[1])) else {
                        say("held")
                        return 1
                    }
                    try lock.release()
                }
            }
            return try withPeerLock("churn", [args[0], args[1], "exclusive"])
        },
    ]
}
