import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the crash-safe read–write lock (MappedReadWriteLockTests).
// Every one opens the POSIX shared memory object NAME with
// `ReadWriteLockTestLayout` preferring PREF ("writers" or "readers"), which the
// tests build the same way. MODE is "shared" or "exclusive". Outcomes are one
// line: "acquired", "died PID", "busy", "unlocked", or the errno name.

/// A read–write lock with 4 reader slots and two counters the tests keep equal
/// under it (`first` is changed before `second`, so a writer killed between them
/// leaves them one apart).
struct ReadWriteLockTestLayout {
    var layout: SharedLayout
    var lock: SharedPlace<MappedReadWriteLock>
    var first: SharedPlace<Atomic<UInt64>>
    var second: SharedPlace<Atomic<UInt64>>

    init(preferring preference: MappedReadWriteLock.Preference) throws(IPCError) {
        layout = try SharedLayout(type: "rwlock-test", version: 1)
        lock = try layout.readWriteLock(preferring: preference, maximumReaders: 4)
        first = try layout.atomic(UInt64.self)
        second = try layout.atomic(UInt64.self)
    }

    /// The layout named by a command's PREF argument.
    init(_ preference: String) throws(IPCError) {
        try self.init(preferring: preference == "readers" ? .readers : .writers)
    }

    func open(_ name: String) throws -> PlacedMapping {
        try PlacedMapping.open(layout, in: PosixSharedMemory.open(name).map(), until: .after(.seconds(30)))
    }

    func load(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws -> UInt64 {
        try placed.withAtomic(place) { $0.load(ordering: .relaxed) }
    }

    func add(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>, _ value: UInt64) throws {
        try placed.withAtomic(place) { _ = $0.wrappingAdd(value, ordering: .relaxed) }
    }
}

extension PeerCommands {
    static let readWriteLocks: [String: PeerCommand] = [
        // rwlock-hold NAME PREF MODE: take the lock (30 s at most) and print "locked
        // PID" ("died PID" when a dead writer was reported; the errno name when it
        // failed). Exclusive, it adds one to the first counter only: a writer half-way
        // through its change. Then reads a line: "unlock" finishes the change,
        // unlocks, prints "unlocked" and exits at end of input; "exec" prints "exec"
        // and replaces the process by `cat` (same pid, lock held); end of input
        // exits holding the lock (with the memory still mapped).
        // rwlock-fork NAME PREF: take and release the lock exclusively (so this
        // thread's id and the pid are known to the library), then fork; the child
        // takes it shared and releases it, then takes it exclusively and exits
        // holding it. Prints "child PID STATUS" (STATUS: the child's exit status,
        // 128 + signal when a signal ended it).
        "rwlock-fork": { args in
            let test = try ReadWriteLockTestLayout(args[1])
            let placed = try test.open(args[0])
            return try placed.withReadWriteLock(test.lock) { lock in
                _ = try lock.lockExclusive(timeout: .seconds(30))
                try lock.unlockExclusive()
                let child = fork()
                if child == 0 {
                    do {
                        try lock.lockShared(timeout: .seconds(30))
                        try lock.unlockShared()
                        _ = try lock.lockExclusive(timeout: .seconds(30))
                    } catch { _exit(1) }
                    _exit(0)
                }
                var status: CInt = 0
                guard child > 0, waitpid(child, &status, 0) == child else { return 2 }
                say("child \(child) \(shellStatus(status))")
                return 0
            }
        },
        "rwlock-hold": { args in
            let test = try ReadWriteLockTestLayout(args[1])
            let placed = try test.open(args[0])
            let exclusive = args[2] == "exclusive"
            return try placed.withReadWriteLock(test.lock) { lock in
                do {
                    if exclusive {
                        let acquisition = try lock.lockExclusive(timeout: .seconds(30))
                        try test.add(placed, test.first, 1)
                        say(acquisition == .acquired ? "locked \(getpid())" : describe(acquisition))
                    } else {
                        try lock.lockShared(timeout: .seconds(30))
                        say("locked \(getpid())")
                    }
                } catch let error as IPCError {
                    say(error.errnoName)
                    return 0
                }
                switch readLine() {
                case "unlock":
                    if exclusive {
                        try test.add(placed, test.second, 1)
                        try lock.unlockExclusive()
                    } else {
                        try lock.unlockShared()
                    }
                    say("unlocked")
                    while readLine() != nil {}
                case "exec":
                    // After this line nothing more is read here: what the test
                    // writes next stays in the pipe for cat.
                    say("exec")
                    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cat"), nil]
                    execv("/bin/cat", argv)
                    say("exec failed")
                default:
                    break
                }
                exit(0)
            }
        },
        // rwlock-try NAME PREF MODE: try once; print the outcome; release what it
        // took (exclusive after a dead writer: without marking it consistent).
        "rwlock-try": { args in
            try withReadWriteLockPeer(args) { lock in
                if args[2] == "exclusive" {
                    let acquisition = try lock.tryLockExclusive()
                    say(describe(acquisition))
                    if acquisition != nil { try lock.unlockExclusive() }
                } else {
                    let taken = try lock.tryLockShared()
                    say(taken ? "acquired" : "busy")
                    if taken { try lock.unlockShared() }
                }
            }
        },
        // rwlock-lock NAME PREF MODE MILLISECONDS [repair]: lock with a timeout; print
        // the outcome; release. With "repair", a dead writer's state is repaired (the
        // second counter set to the first) and marked consistent first.
        "rwlock-lock": { args in
            try withReadWriteLockPeer(args) { lock in
                let timeout = Duration.milliseconds(Int(args[3])!)
                if args[2] == "exclusive" {
                    let acquisition = try lock.lockExclusive(timeout: timeout)
                    say(describe(acquisition))
                    if acquisition != .acquired, args.count > 4, args[4] == "repair" { try lock.markConsistent() }
                    try lock.unlockExclusive()
                } else {
                    try lock.lockShared(timeout: timeout)
                    say("acquired")
                    try lock.unlockShared()
                }
            }
        },
        // rwlock-churn NAME PREF: print "ready", then for ever: mostly take the lock
        // exclusively (repairing the counters after a dead writer) and add one to the
        // first counter, then to the second; sometimes take it shared and check they
        // are equal (exit 3, printing "torn", if not; told of a dead writer, go on:
        // the next exclusive turn repairs). The test kills it at any point.
        "rwlock-churn": { args in
            let test = try ReadWriteLockTestLayout(args[1])
            let placed = try test.open(args[0])
            return try placed.withReadWriteLock(test.lock) { lock in
                say("ready")
                while true {
                    if UInt8.random(in: 0..<4) == 0 {
                        let equal: Bool
                        do {
                            equal = try lock.withSharedLock {
                                try test.load(placed, test.first) == test.load(placed, test.second)
                            }
                        } catch let error as IPCError where error.errno == .previousOwnerDied {
                            continue
                        }
                        if !equal {
                            say("torn")
                            return 3
                        }
                    } else {
                        try lock.withExclusiveLock(ifOwnerDied: { _ in
                            let first = try test.load(placed, test.first), second = try test.load(placed, test.second)
                            try test.add(placed, test.second, first &- second)
                        }) {
                            try test.add(placed, test.first, 1)
                            try test.add(placed, test.second, 1)
                        }
                    }
                }
            }
        },
    ]
}

/// Opens the lock of `args` (NAME PREF …) and runs `body`; an `IPCError` it
/// throws is printed as its errno name.
private func withReadWriteLockPeer(_ args: [String], _ body: (borrowing MappedReadWriteLock) throws -> Void) throws -> Int32 {
    let test = try ReadWriteLockTestLayout(args[1])
    let placed = try test.open(args[0])
    return try placed.withReadWriteLock(test.lock) { lock in
        do { try body(lock) } catch let error as IPCError { say(error.errnoName) }
        return 0
    }
}
