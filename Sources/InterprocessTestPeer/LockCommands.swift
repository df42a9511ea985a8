import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the process-shared mutex and condition variable
// (MappedMutexTests, MappedConditionTests). Every one opens the POSIX shared
// memory object NAME with `LockTestLayout`, which the tests build the same way.
// Outcomes are one line: "acquired", "died PID", "busy", "ok", or the errno name.

/// A mutex, a condition, and two counters the tests keep equal under the mutex
/// (`first` is changed before `second`, so a holder killed between them leaves
/// them one apart).
struct LockTestLayout {
    var layout: SharedLayout
    var mutex: SharedPlace<MappedMutex>
    var condition: SharedPlace<MappedCondition>
    var first: SharedPlace<Atomic<UInt64>>
    var second: SharedPlace<Atomic<UInt64>>

    init(kind: MappedMutex.Kind = .errorChecking) throws(IPCError) {
        layout = try SharedLayout(type: "lock-test", version: 1)
        mutex = try layout.mutex(kind: kind)
        condition = try layout.condition()
        first = try layout.atomic(UInt64.self)
        second = try layout.atomic(UInt64.self)
    }

    func open(_ name: String) throws -> PlacedMapping {
        try PlacedMapping.open(layout, in: PosixSharedMemory.open(name).map(), until: .after(.seconds(30)))
    }

    func load(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws -> UInt64 {
        try placed.withAtomic(place) { $0.load(ordering: .relaxed) }
    }

    func store(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>, _ value: UInt64) throws {
        try placed.withAtomic(place) { $0.store(value, ordering: .relaxed) }
    }
}

func describe(_ acquisition: MappedMutex.Acquisition?) -> String {
    switch acquisition {
    case nil: "busy"
    case .acquired: "acquired"
    case .previousOwnerDied(let pid): "died \(pid.map(String.init) ?? "?")"
    }
}

extension PeerCommands {
    static let locks: [String: PeerCommand] = [
        // mutex-hold NAME [exec]: lock, print "locked PID" (or the errno name), then
        // exit holding the lock once stdin has a line or ends — with the memory
        // still mapped: the kernel can mark only a mutex it can still reach. With
        // "exec", print "exec" and replace the process by `cat` instead (same pid,
        // lock held).
        "mutex-hold": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                do { _ = try mutex.lock() } catch let error as IPCError {
                    say(error.errnoName)
                    return 0
                }
                say("locked \(getpid())")
                _ = readLine()
                if args.count > 1, args[1] == "exec" {
                    // After this line nothing more is read here: what the test
                    // writes next stays in the pipe for cat.
                    say("exec")
                    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cat"), nil]
                    execv("/bin/cat", argv)
                    say("exec failed")
                }
                exit(0)
            }
        },
        // mutex-try NAME: tryLock; print the outcome; unlock what it took.
        "mutex-try": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                do {
                    let acquisition = try mutex.tryLock()
                    say(describe(acquisition))
                    if acquisition != nil { try mutex.unlock() }
                } catch let error as IPCError { say(error.errnoName) }
                return 0
            }
        },
        // mutex-lock NAME MILLISECONDS: lock with a timeout; print the outcome; unlock.
        "mutex-lock": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                do {
                    let acquisition = try mutex.lock(timeout: .milliseconds(Int(args[1])!))
                    say(describe(acquisition))
                    try mutex.unlock()
                } catch let error as IPCError { say(error.errnoName) }
                return 0
            }
        },
        // mutex-unlock NAME: unlock a mutex this process does not hold; print "ok"
        // or the errno name.
        "mutex-unlock": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                do { try mutex.unlock(); say("ok") } catch let error as IPCError { say(error.errnoName) }
                return 0
            }
        },
        // mutex-fork NAME: lock and unlock (so this thread's id and the pid are
        // known to the library), then fork; the child locks, unlocks, locks again
        // and exits holding the lock. Prints "child PID STATUS" (STATUS: the
        // child's exit status, 128 + signal when a signal ended it).
        "mutex-fork": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                _ = try mutex.lock()
                try mutex.unlock()
                let child = fork()
                if child == 0 {
                    do {
                        _ = try mutex.lock()
                        try mutex.unlock()
                        _ = try mutex.lock()
                    } catch { _exit(1) }
                    _exit(0)
                }
                var status: CInt = 0
                guard child > 0, waitpid(child, &status, 0) == child else { return 2 }
                say("child \(child) \(shellStatus(status))")
                return 0
            }
        },
        // mutex-churn NAME: print "ready", then for ever: take the lock (repairing
        // the counters after a dead owner), add one to the first counter, then to
        // the second, release. The test kills it at any point.
        "mutex-churn": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                say("ready")
                while true {
                    try mutex.withLock(ifOwnerDied: { _ in
                        try test.store(placed, test.second, test.load(placed, test.first))
                    }) {
                        try test.store(placed, test.first, test.load(placed, test.first) + 1)
                        try test.store(placed, test.second, test.load(placed, test.second) + 1)
                    }
                }
            }
        },
        // cond-wait NAME TARGET: lock, print "waiting", wait until the first counter
        // reaches TARGET (30 s at most), print the outcome, unlock.
        "cond-wait": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            let target = UInt64(args[1])!
            return try placed.withMutex(test.mutex) { mutex in
                try placed.withCondition(test.condition) { condition in
                    _ = try mutex.lock()
                    say("waiting")
                    do {
                        let woken = try condition.wait(on: mutex, until: { try test.load(placed, test.first) >= target },
                                                       timeout: .seconds(30))
                        say(woken == .acquired ? "ok" : describe(woken))
                    } catch let error as IPCError { say(error.errnoName) }
                    try mutex.unlock()
                    return 0
                }
            }
        },
        // cond-pingpong NAME: print "ready", then for ever: wait until the counters
        // are equal, add one to the first, broadcast. The test's side waits until
        // they differ and makes them equal again; it kills this peer at any point.
        "cond-pingpong": { args in
            let test = try LockTestLayout()
            let placed = try test.open(args[0])
            return try placed.withMutex(test.mutex) { mutex in
                try placed.withCondition(test.condition) { condition in
                    say("ready")
                    let equal = { try test.load(placed, test.first) == test.load(placed, test.second) }
                    while true {
                        if case .previousOwnerDied = try mutex.lock() { try mutex.markConsistent() }
                        while case .previousOwnerDied = try condition.wait(on: mutex, until: equal) {
                            try mutex.markConsistent()
                        }
                        try test.store(placed, test.first, test.load(placed, test.first) + 1)
                        try condition.broadcast()
                        try mutex.unlock()
                    }
                }
            }
        },
    ]
}
