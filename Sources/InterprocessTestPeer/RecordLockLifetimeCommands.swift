import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for what exec and fork do to the three record-lock flavours
// (RecordLockLifetimeTests; SPEC Y8, L3). KIND is posix, ofd or flock; the lock
// is always exclusive on the whole file, taken through the library's own
// descriptor (opened from PATH, close-on-exec).

extension PeerCommands {
    static let recordLockLifetime: [String: PeerCommand] = [
        // reclock-exec KIND PATH: lock, print "locked PID", wait for a line, print
        // "exec" and replace this process by `cat` (same pid, stdin and stdout
        // kept): the lock's descriptor is close-on-exec, so cat holds nothing.
        "reclock-exec": { args in try withPeerLock("exec", [args[0], args[1], "exclusive"]) },
        // reclock-fork KIND PATH: lock, then fork. The child tries the lock once
        // through the inherited descriptor (system calls only) and waits, keeping
        // that descriptor open, until this process lets it go. Prints "forked
        // CHILD acquired|busy"; then per stdin line: "drop" closes this process's
        // lock and descriptor ("dropped"), "release" lets the child exit and
        // reaps it ("child exited STATUS"); exits at EOF (releasing the child).
        "reclock-fork": { args in
            let path = FilePath(args[1])
            switch args[0] {
            case "posix":
                let lock = try RecordLock(path: path)
                let fd = lock.descriptor.rawValue
                return try forkHolding(lock, fd: fd, kind: args[0])
            case "ofd":
                let lock = try OpenFileLock(path: path)
                let fd = lock.descriptor.rawValue
                return try forkHolding(lock, fd: fd, kind: args[0])
            case "flock":
                let lock = try WholeFileLock(path: path)
                let fd = lock.descriptor.rawValue
                return try forkHolding(lock, fd: fd, kind: args[0])
            default:
                return 64
            }
        },
    ]
}

/// `reclock-fork`: `lock` is dropped on "drop", so this function owns it.
private func forkHolding<Lock: PeerLockable & ~Copyable>(_ lock: consuming Lock, fd: CInt, kind: String) throws -> Int32 {
    try lock.lock(.exclusive, .wholeFile, timeout: .seconds(30))
    var held: Lock? = lock
    var report: [CInt] = [-1, -1], release: [CInt] = [-1, -1]
    guard pipe(&report) == 0, pipe(&release) == 0 else { return 1 }
    let command: CInt? = kind == "flock" ? nil : kind == "ofd" ? CInt(CIPC_F_OFD_SETLK) : F_SETLK
    // The fork is in a function of its own that never returns in the child: a
    // ~Copyable value whose last use is on the parent's path would otherwise be
    // destroyed (its descriptor closed) on the child's path right after fork.
    let child = forkTrying(fd, command, report: report, release: release)
    guard child > 0 else { return 2 }
    var outcome: UInt8 = 0
    guard read(report[0], &outcome, 1) == 1 else { return 3 }
    close(report[0])
    say("forked \(child) \(outcome == UInt8(ascii: "a") ? "acquired" : "busy")")
    func releaseChild() -> CInt {
        close(release[1])
        var status: CInt = 0
        return waitpid(child, &status, 0) == child ? shellStatus(status) : -1
    }
    while let line = readLine() {
        switch line {
        case "drop":
            _ = held.take()
            say("dropped")
        case "release":
            say("child exited \(releaseChild())")
            return 0
        default:
            say("unknown \(line)")
        }
    }
    _ = releaseChild()
    return 0
}

/// Forks; the child tries the lock through `fd` once, writes "a" (acquired) or
/// "b" (busy) to `report`, waits for end of file on `release` and exits — nothing
/// but system calls. Returns the child's pid in the parent (or -1).
private func forkTrying(_ fd: CInt, _ command: CInt?, report: [CInt], release: [CInt]) -> pid_t {
    let child = fork()
    if child == 0 {
        close(report[0])
        close(release[1])
        var outcome: UInt8 = tryInChild(fd, command) ? UInt8(ascii: "a") : UInt8(ascii: "b")
        _ = write(report[1], &outcome, 1)
        var byte: UInt8 = 0
        while true {
            let n = read(release[0], &byte, 1)
            if n == 0 || (n < 0 && errno != EINTR) { break }
        }
        _exit(0)
    }
    close(report[1])
    close(release[0])
    return child
}

/// One non-blocking exclusive attempt on the whole file through `fd` — fcntl
/// `command` (F_SETLK, F_OFD_SETLK), or flock when nil — with nothing but system
/// calls (this runs in a forked child).
private func tryInChild(_ fd: CInt, _ command: CInt?) -> Bool {
    guard let command else { return flock(fd, LOCK_EX | LOCK_NB) == 0 }
    var request = cipc_flock()
    request.l_type = Int16(F_WRLCK)
    request.l_whence = Int16(SEEK_SET)
    return cipc_fcntl_lock(fd, command, &request) == 0
}
