import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the spin lock and the barrier (MappedSpinLockTests,
// MappedBarrierTests). Every one opens the POSIX shared memory object NAME with
// `SpinBarrierTestLayout`, which the tests build the same way (the barrier
// commands take its participants N and rounds R). Outcomes are one line:
// "acquired", "died PID", "busy", "ok", "serial", "other", or the errno name.

/// A spin lock with two counters kept equal under it, and a barrier with the
/// counters its tests check: arrivals in all, rounds passed by the peer,
/// violations seen, and one serial count per round.
struct SpinBarrierTestLayout {
    var layout: SharedLayout
    var spinLock: SharedPlace<MappedSpinLock>
    var barrier: SharedPlace<MappedBarrier>
    var first: SharedPlace<Atomic<UInt64>>
    var second: SharedPlace<Atomic<UInt64>>
    var arrivals: SharedPlace<Atomic<UInt64>>
    var passed: SharedPlace<Atomic<UInt64>>
    var violations: SharedPlace<Atomic<UInt64>>
    var serials: SharedPlace<SharedBytes>
    let participants: Int

    init(participants: Int = 2, rounds: Int = 1) throws(IPCError) {
        layout = try SharedLayout(type: "spin-barrier-test", version: 1)
        spinLock = try layout.spinLock()
        barrier = try layout.barrier(participants: participants)
        first = try layout.atomic(UInt64.self)
        second = try layout.atomic(UInt64.self)
        arrivals = try layout.atomic(UInt64.self)
        passed = try layout.atomic(UInt64.self)
        violations = try layout.atomic(UInt64.self)
        serials = try layout.bytes(count: 4 * rounds, alignment: 4)
        self.participants = participants
    }

    /// The layout of a barrier command's arguments NAME N R.
    init(_ args: [String]) throws {
        try self.init(participants: Int(args[1])!, rounds: Int(args[2])!)
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

    func add(_ placed: borrowing PlacedMapping, _ place: SharedPlace<Atomic<UInt64>>) throws {
        try placed.withAtomic(place) { _ = $0.add(1, ordering: .relaxed) }
    }

    /// Round `round` of the serial test: count the arrival, wait, count the serial
    /// one in the round's slot, and count a violation when not every arrival of
    /// this round happened before the wait returned.
    func round(_ round: Int, _ placed: borrowing PlacedMapping, _ barrier: borrowing MappedBarrier,
               _ me: borrowing MappedBarrier.Participant) throws {
        try add(placed, arrivals)
        if try barrier.wait(as: me, timeout: .seconds(30)).isSerial {
            try placed.mapping.withAtomic(UInt32.self, at: serials.offset + 4 * round) { _ = $0.add(1, ordering: .relaxed) }
        }
        if try load(placed, arrivals) < UInt64((round + 1) * participants) { try add(placed, violations) }
    }
}

func describe(_ arrival: MappedBarrier.Arrival) -> String { arrival.isSerial ? "serial" : "other" }

/// "EOWNERDEAD participant pid 123 died…": the errno name and the detail.
func describeBarrierError(_ error: IPCError) -> String { "\(error.errnoName) \(error.detail ?? "")" }

/// After a line on stdin: exec `cat` (same pid) when `args` asks for it.
func execCatIfAsked(_ args: [String]) {
    if args.last == "exec" {
        say("exec")
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cat"), nil]
        execv("/bin/cat", argv)
        say("exec failed")
    }
}

extension PeerCommands {
    static let spinBarrier: [String: PeerCommand] = [
        // spin-hold NAME [exec]: lock the spin lock, print "locked PID" (or the
        // outcome), then exit holding it once stdin has a line or ends; with
        // "exec", replace the process by `cat` instead (same pid and thread id).
        "spin-hold": { args in
            let test = try SpinBarrierTestLayout()
            let placed = try test.open(args[0])
            return try placed.withSpinLock(test.spinLock) { spin in
                do { _ = try spin.lock() } catch let error as IPCError {
                    say(error.errnoName)
                    return 0
                }
                say("locked \(getpid())")
                _ = readLine()
                execCatIfAsked(args)
                exit(0)
            }
        },
        // spin-try NAME: tryLock; print the outcome; unlock what it took.
        "spin-try": { args in
            let test = try SpinBarrierTestLayout()
            let placed = try test.open(args[0])
            return try placed.withSpinLock(test.spinLock) { spin in
                do {
                    let acquisition = try spin.tryLock()
                    say(describe(acquisition))
                    if acquisition != nil { try spin.unlock() }
                } catch let error as IPCError { say(error.errnoName) }
                return 0
            }
        },
        // spin-unlock NAME: unlock a spin lock this process does not hold.
        "spin-unlock": { args in
            let test = try SpinBarrierTestLayout()
            let placed = try test.open(args[0])
            return try placed.withSpinLock(test.spinLock) { spin in
                do { try spin.unlock(); say("ok") } catch let error as IPCError { say(error.errnoName) }
                return 0
            }
        },
        // spin-count NAME TIMES: TIMES times, under the lock, a read-modify-write
        // of the first counter in two steps (a load, then a store: only the lock
        // keeps it whole); then print "done".
        "spin-count": { args in
            let test = try SpinBarrierTestLayout()
            let placed = try test.open(args[0])
            try placed.withSpinLock(test.spinLock) { spin in
                for _ in 0..<Int(args[1])! {
                    try spin.withLock(ifOwnerDied: { _ in }) {
                        try placed.withAtomic(test.first) { $0.store($0.load(ordering: .relaxed) + 1, ordering: .relaxed) }
                    }
                }
            }
            say("done")
            return 0
        },
        // spin-churn NAME: print "ready", then for ever: take the lock (repairing
        // the counters after a dead holder), add one to the first counter, then to
        // the second, release. The test kills it at any point.
        "spin-churn": { args in
            let test = try SpinBarrierTestLayout()
            let placed = try test.open(args[0])
            return try placed.withSpinLock(test.spinLock) { spin in
                say("ready")
                while true {
                    try spin.withLock(ifOwnerDied: { _ in
                        try test.store(placed, test.second, test.load(placed, test.first))
                    }) {
                        try test.store(placed, test.first, test.load(placed, test.first) + 1)
                        try test.store(placed, test.second, test.load(placed, test.second) + 1)
                    }
                }
            }
        },
        // barrier-create NAME N R: create the objects, print "created", exit.
        "barrier-create": { args in
            let test = try SpinBarrierTestLayout(args)
            _ = try PlacedMapping.create(test.layout, in: PosixSharedMemory.create(args[0], size: test.layout.size).map())
            say("created")
            return 0
        },
        // barrier-join NAME N R [exec]: join, print "joined SLOT" (or the errno
        // name), then on a line "leave" leave and print "left"; on any other line
        // or the end of stdin exit without leaving (or exec `cat` with "exec").
        "barrier-join": { args in
            let test = try SpinBarrierTestLayout(args)
            let placed = try test.open(args[0])
            return try placed.withBarrier(test.barrier) { barrier in
                let me: MappedBarrier.Participant
                do { me = try barrier.join() } catch let error as IPCError {
                    say(error.errnoName)
                    return 0
                }
                say("joined \(me.slot)")
                if readLine() == "leave" {
                    try barrier.leave(me)
                    say("left")
                    return 0
                }
                execCatIfAsked(args)
                exit(0)
            }
        },
        // barrier-wait NAME N R MILLISECONDS: join, print "joined", wait once with
        // the timeout, print the outcome ("serial", "other", or "ERRNO detail"), leave.
        "barrier-wait": { args in
            let test = try SpinBarrierTestLayout(args)
            let placed = try test.open(args[0])
            return try placed.withBarrier(test.barrier) { barrier in
                try barrier.withParticipant { me in
                    say("joined")
                    do { say(describe(try barrier.wait(as: me, timeout: .milliseconds(Int(args[3])!)))) } catch let error as IPCError {
                        say(describeBarrierError(error))
                    }
                }
                return 0
            }
        },
        // barrier-rounds NAME N R: join, print "joined", make the R rounds of the
        // serial test, print "done" (or "ERRNO detail" at the first failure), leave.
        "barrier-rounds": { args in
            let test = try SpinBarrierTestLayout(args)
            let placed = try test.open(args[0])
            return try placed.withBarrier(test.barrier) { barrier in
                try barrier.withParticipant { me in
                    say("joined")
                    do {
                        for round in 0..<Int(args[2])! { try test.round(round, placed, barrier, me) }
                        say("done")
                    } catch let error as IPCError { say(describeBarrierError(error)) }
                }
                return 0
            }
        },
        // barrier-loop NAME N R: join, print "ready", then for ever: wait (30 s at
        // most), add one to `passed`. Ends (printing the outcome) at a failure.
        "barrier-loop": { args in
            let test = try SpinBarrierTestLayout(args)
            let placed = try test.open(args[0])
            return try placed.withBarrier(test.barrier) { barrier in
                try barrier.withParticipant { me in
                    say("ready")
                    do {
                        while true {
                            _ = try barrier.wait(as: me, timeout: .seconds(30))
                            try test.add(placed, test.passed)
                        }
                    } catch let error as IPCError { say(describeBarrierError(error)) }
                }
                return 1
            }
        },
        // spin-barrier-fork NAME: take the spin lock and join the barrier (N 2),
        // then fork. The child tries the lock, unlocks it, joins the barrier and
        // exits without leaving; it prints nothing, its exit status says what it
        // saw (1: the lock busy, 2: its unlock EPERM, 4: it joined slot 1). The
        // parent prints "child STATUS PID", then the outcome of its own wait (the
        // child's slot died), then unlocks and prints "unlocked".
        "spin-barrier-fork": { args in
            let test = try SpinBarrierTestLayout(participants: 2, rounds: 1)
            let placed = try test.open(args[0])
            return try placed.withSpinLock(test.spinLock) { spin in
                try placed.withBarrier(test.barrier) { barrier in
                    _ = try spin.lock()
                    let me = try barrier.join()
                    waitUntilOtherThreadsSleep()
                    let child = fork()
                    if child == 0 {
                        var seen: Int32 = 0
                        if (try? spin.tryLock()) == .some(nil) { seen |= 1 }
                        do { try spin.unlock() } catch let error as IPCError where error.errno == .notPermitted { seen |= 2 } catch {}
                        if let slot = try? barrier.join().slot, slot == 1 { seen |= 4 }
                        _exit(seen)
                    }
                    var status: CInt = 0
                    guard child > 0, waitpid(child, &status, 0) == child else { return 2 }
                    say("child \((status >> 8) & 0xff) \(child)")
                    do { say(describe(try barrier.wait(as: me, timeout: .seconds(30)))) } catch let error as IPCError {
                        say(describeBarrierError(error))
                    }
                    try barrier.leave(me)
                    try spin.unlock()
                    say("unlocked")
                    return 0
                }
            }
        },
    ]
}
