@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A new set with a unique key, for one test; the test removes it with
/// `defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }`.
func makeSemaphoreSet(_ values: [Int], permissions: FilePermissions = .ownerReadWrite) throws -> SystemVSemaphoreSet {
    try SystemVSemaphoreSet.create(key: TestObjects.systemVKey(), count: values.count, permissions: permissions, initialValues: values)
}

/// The system calls a thread blocked in semop or semtimedop shows in /proc.
#if arch(x86_64)
let semopSyscalls: Set<String> = ["65", "220"]
let clockNanosleepSyscall = 230
#elseif arch(arm64)
let semopSyscalls: Set<String> = ["193", "192"]
let clockNanosleepSyscall = 115
#endif

@Suite("System V semaphore sets (Y3, V1–V3)")
struct SystemVSemaphoreSetTests {
    // MARK: creation and opening

    @Test("create is exclusive with mode 0600 and sets the values; open and init(id:) find it; ENOENT once removed")
    func createAndOpen() throws {
        let key = TestObjects.systemVKey()
        let set = try SystemVSemaphoreSet.create(key: key, count: 3, initialValues: [1, 0, 2])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        #expect(set.count == 3)
        #expect(try set.values() == [1, 0, 2])
        let status = try set.status()
        #expect(status.count == 3)
        #expect(status.permissions.mode == .ownerReadWrite)
        #expect(status.permissions.key == key)
        #expect(status.permissions.uid == geteuid() && status.permissions.creatorUID == geteuid())
        #expect(status.lastOperationTime != nil, "the creator marked it initialised")
        #expect(status.changeTime > 0)

        let again = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.create(key: key, count: 3) }
        #expect(again?.errno == .fileExists)
        #expect(again?.description.hasPrefix("semget(key \(key)): file exists (EEXIST)") == true, "\(String(describing: again))")

        let opened = try SystemVSemaphoreSet.open(key: key)
        #expect(opened.id == set.id && opened.count == 3)
        let byID = try SystemVSemaphoreSet(id: set.id)
        #expect(byID.count == 3)
        let existing = try SystemVSemaphoreSet.openOrCreate(key: key, count: 2, initialValues: [9, 9])
        #expect(existing.id == set.id && existing.count == 3, "an existing set is opened, with all its members")
        #expect(try set.values() == [1, 0, 2], "and keeps its values")
        try SystemVSemaphoreSet.create(key: .private, count: 1).remove()

        try set.remove()
        let missing = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.open(key: key) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
        let gone = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet(id: set.id) }
        #expect(gone?.errno == .invalidArgument)
        let stale = #expect(throws: IPCError.self) { try set.perform(.add(to: 0)) }
        #expect(stale?.errno == .invalidArgument)
        #expect(stale?.detail?.contains("removed") == true)
    }

    @Test("a set created in one process is opened with its values in another, both ways")
    func creatorAndOpenerAcrossProcesses() throws {
        let key = TestObjects.systemVKey()
        let created = try TestPeer.run(TestPeer.spawn("semset-create", key.description, "3", "1,0,2"))
        let id = try #require(Int32(created.output), "\(created.output)")
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        let opened = try SystemVSemaphoreSet.open(key: key)
        #expect(opened.id == id)
        #expect(try opened.values() == [1, 0, 2])

        let mine = try SystemVSemaphoreSet.create(key: TestObjects.systemVKey(), count: 2, initialValues: [4, 5])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: mine.id)) }
        let status = try mine.status()
        #expect(try TestPeer.run(TestPeer.spawn("semset-open", status.permissions.key.description, "1000")).output == "ok 4,5")
    }

    @Test("a creator killed before initialising makes openers time out instead of using its values")
    func creatorDiedBeforeInitialising() throws {
        let key = TestObjects.systemVKey()
        let creator = try PeerSession("semset-create-uninitialised", [key.description, "2"])
        let id = try #require(Int32(try creator.line()))
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        #expect(kill(creator.pid, SIGKILL) == 0)
        #expect(try creator.finish() == .signalled(SIGKILL, coreDumped: false))
        #expect(try SystemVSemaphoreSet(id: id).status().lastOperationTime == nil)

        let start = Deadline.now
        let error = #expect(throws: IPCError.self) {
            _ = try SystemVSemaphoreSet.open(key: key, initialisationDeadline: .after(.milliseconds(100)))
        }
        #expect(error?.errno == .timedOut)
        #expect(error?.detail?.contains("the creator has not initialised it") == true, "\(String(describing: error))")
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 100_000_000, "it waited until the deadline")
        let orCreate = #expect(throws: IPCError.self) {
            _ = try SystemVSemaphoreSet.openOrCreate(key: key, count: 2, initialValues: [1, 1],
                                                     initialisationDeadline: .after(.milliseconds(50)))
        }
        #expect(orCreate?.errno == .timedOut, "openOrCreate neither creates nor uses it")
        #expect(try TestPeer.run(TestPeer.spawn("semset-open", key.description, "50")).output == "ETIMEDOUT")
        #expect(try SystemVSemaphoreSet(id: id).values() == [0, 0], "nobody initialised it behind the creator's back")
    }

    @Test("an opener waits for the creator's initialisation and then sees the creator's values")
    func openerWaitsForInitialisation() throws {
        let key = TestObjects.systemVKey()
        // Created as any creator does, not initialised yet.
        let id = semget(key.rawValue, 2, IPC_CREAT | IPC_EXCL | 0o600)
        try #require(id != -1)
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        let opener = try PeerSession("semset-open", [key.description, "30000"])
        // The opener polls with nanosleep while it waits.
        #expect(waitUntilBlocked(pid: opener.pid, inSyscall: clockNanosleepSyscall))
        let set = try SystemVSemaphoreSet(id: id)
        try set.setValues([3, 4])
        #expect(try set.tryPerform([.add(to: 0), .take(from: 0)]), "the operation that marks it initialised")
        #expect(try opener.line() == "ok 3,4")
        #expect(try opener.finish() == .exited(0))
    }

    @Test("processes racing to openOrCreate: exactly one initialises, the others use its values")
    func openOrCreateRace() throws {
        let key = TestObjects.systemVKey()
        defer { if let id = try? SystemVKind.semaphoreSet.identifier(for: key) { TestObjects.remove(.systemV(.semaphoreSet, id: id)) } }
        var peers: [PeerSession] = []
        for _ in 0..<4 { peers.append(try PeerSession("semset-open-or-create-take", [key.description, "1", "5"])) }
        for peer in peers { #expect(try peer.line() == "ready") }
        for peer in peers { try peer.send("go") }
        for peer in peers {
            #expect(try peer.line() == "ok")
            #expect(try peer.finish() == .exited(0))
        }
        // Initialised once to 5, then four units taken: a second initialisation
        // after a take would leave more.
        #expect(try SystemVSemaphoreSet.open(key: key).values() == [1])
    }

    // MARK: operations

    @Test("a multi-member operation that cannot complete changes nothing (IPC_NOWAIT)")
    func atomicityWithoutWaiting() throws {
        let set = try makeSemaphoreSet([1, 0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        #expect(try set.tryPerform([.take(from: 0), .take(from: 1)]) == false)
        #expect(try set.values() == [1, 0])
        let wouldBlock = #expect(throws: IPCError.self) {
            try set.perform([.take(from: 0, flags: .noWait), .take(from: 1, flags: .noWait)])
        }
        #expect(wouldBlock?.isWouldBlock == true)
        #expect(try set.values() == [1, 0], "member 0 was not taken")
        let noWait = #expect(throws: IPCError.self, "one .noWait operation makes the whole list answer at once") {
            try set.perform([.take(from: 0), .take(from: 1, flags: .noWait)], until: .after(.seconds(30)))
        }
        #expect(noWait?.isWouldBlock == true)
        #expect(try set.tryPerform([.take(from: 0), .add(2, to: 1)]))
        #expect(try set.values() == [0, 2])
        #expect(try set.tryPerform(.take(2, from: 1)))
        #expect(try set.tryPerform(.take(from: 1)) == false)
    }

    @Test("a blocked multi-member operation in another process completes only when all its members can")
    func atomicityAcrossProcesses() throws {
        let set = try makeSemaphoreSet([0, 0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let peer = try PeerSession("semset-op", ["\(set.id)", "0:-1", "1:-1"])
        // Linux counts a waiter on the first member that holds it up.
        #expect(try eventually { try set.waitingForIncrease(of: 0) == 1 })
        try set.perform(.add(to: 0))
        #expect(try eventually { try set.waitingForIncrease(of: 1) == 1 }, "still waiting, now for member 1")
        #expect(try set.values() == [1, 0], "the peer took nothing from member 0")
        try set.perform(.add(to: 1))
        #expect(try peer.line() == "ok")
        #expect(try peer.finish() == .exited(0))
        #expect(try set.values() == [0, 0])
        #expect(try set.lastPID(of: 0) == peer.pid && set.lastPID(of: 1) == peer.pid)
    }

    @Test("zero waits for zero, negative takes, positive adds, between processes")
    func operationKindsAcrossProcesses() throws {
        let set = try makeSemaphoreSet([2])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let zero = try PeerSession("semset-op", ["\(set.id)", "0:0"])
        #expect(try eventually { try set.waitingForZero(of: 0) == 1 })
        try set.perform(.take(from: 0))
        #expect(try set.waitingForZero(of: 0) == 1, "1 is not zero")
        try set.perform(.take(from: 0))
        #expect(try zero.line() == "ok", "woken by the last unit taken")
        #expect(try zero.finish() == .exited(0))
        #expect(try set.waitingForZero(of: 0) == 0)

        let take = try PeerSession("semset-op", ["\(set.id)", "0:-2"])
        #expect(try eventually { try set.waitingForIncrease(of: 0) == 1 })
        try set.perform(.add(to: 0))
        #expect(try set.waitingForIncrease(of: 0) == 1, "1 unit is not 2")
        try set.perform(.add(to: 0))
        #expect(try take.line() == "ok")
        #expect(try take.finish() == .exited(0))
        #expect(try set.value(of: 0) == 0)

        #expect(try TestPeer.run(TestPeer.spawn("semset-op", "\(set.id)", "0:+3")).output == "ok")
        #expect(try set.value(of: 0) == 3)
        #expect(try TestPeer.run(TestPeer.spawn("semset-op", "\(set.id)", "0:-4n")).output == "EAGAIN")
        #expect(try set.value(of: 0) == 3)
    }

    @Test("SEM_UNDO: a unit taken with undo comes back when the process is killed; without undo it stays taken",
          arguments: [true, false])
    func undoAtExit(undo: Bool) throws {
        let set = try makeSemaphoreSet([1])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let holder = try PeerSession("semset-op", ["\(set.id)", "hold", undo ? "0:-1u" : "0:-1"])
        #expect(try holder.line() == "ok")
        #expect(try set.value(of: 0) == 0)
        #expect(try set.lastPID(of: 0) == holder.pid)
        #expect(kill(holder.pid, SIGKILL) == 0)
        #expect(try holder.finish() == .signalled(SIGKILL, coreDumped: false))
        #expect(try set.value(of: 0) == (undo ? 1 : 0))
    }

    @Test("undo adjustments belong to the process: a child's exit does not apply the parent's")
    func undoIsPerProcess() throws {
        let set = try makeSemaphoreSet([1])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        try set.perform(.take(from: 0, flags: .undo))
        #expect(try TestPeer.run(TestPeer.spawn("exit", "0")).status == .exited(0))
        #expect(try set.value(of: 0) == 0, "the child started with no adjustments and applied none")
        try set.perform(.add(to: 0, flags: .undo))  // cancels this process's adjustment
        #expect(try set.value(of: 0) == 1)
    }

    @Test("a time-bounded operation gives up at its deadline, here and in another process")
    func timedOperation() throws {
        let set = try makeSemaphoreSet([0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let start = Deadline.now
        #expect(try timesOut { try set.perform([.take(from: 0)], until: .after(.milliseconds(50))) })
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 50_000_000)
        #expect(try timesOut { try set.perform(.take(from: 0), until: .now) }, "a past deadline does not block")
        #expect(try TestPeer.run(TestPeer.spawn("semset-op", "\(set.id)", "timeout=50", "0:-1")).output == "timeout")
        #expect(try set.value(of: 0) == 0)

        let waiter = try PeerSession("semset-op", ["\(set.id)", "timeout=30000", "0:-1"])
        #expect(try eventually { try set.waitingForIncrease(of: 0) == 1 })
        try set.perform(.add(to: 0))
        #expect(try waiter.line() == "ok")
        #expect(try waiter.finish() == .exited(0))
        #expect(try set.value(of: 0) == 0)
    }

    @Test("a waiter in another process gets EIDRM when the set is removed")
    func removedWhileWaiting() throws {
        let set = try makeSemaphoreSet([0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let waiter = try PeerSession("semset-op", ["\(set.id)", "0:-1"])
        #expect(try eventually { try set.waitingForIncrease(of: 0) == 1 })
        try set.remove()
        #expect(try waiter.line() == "EIDRM")
        #expect(try waiter.finish() == .exited(0))
    }

    // MARK: semctl

    @Test("GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT, IPC_STAT, IPC_SET, IPC_RMID")
    func control() throws {
        let set = try makeSemaphoreSet([0, 0, 0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        try set.setValue(7, of: 1)
        #expect(try set.value(of: 1) == 7)
        #expect(try set.values() == [0, 7, 0])
        try set.setValues([1, 2, SystemVSemaphoreSet.maximumValue])
        #expect(try set.values() == [1, 2, 32767])
        #expect(try set.lastPID(of: 2) == getpid(), "SETALL by this process (Linux records it)")

        var child = try TestPeer.spawn("semset-op", "\(set.id)", "2:-1").start()
        #expect(try child.wait() == .exited(0))
        #expect(try set.lastPID(of: 2) == child.pid, "GETPID is the last process that operated")
        #expect(try set.waitingForIncrease(of: 0) == 0 && set.waitingForZero(of: 0) == 0)

        let before = try set.status()
        try set.changePermissions(mode: [.ownerRead, .ownerWrite, .groupRead])
        let after = try set.status()
        #expect(after.permissions.mode == [.ownerRead, .ownerWrite, .groupRead])
        #expect(after.count == 3)
        #expect(after.lastOperationTime != nil && after.changeTime >= before.changeTime)
        #expect(try set.permissions() == after.permissions)

        try set.remove()
        #expect(throws: IPCError.self) { _ = try set.values() }
        let again = #expect(throws: IPCError.self) { try set.remove() }
        #expect(again?.errno == .invalidArgument)
    }

    @Test("permissions are enforced: an unprivileged process gets EACCES until IPC_SET opens the set")
    func permissionDenied() throws {
        try #require(geteuid() == 0, "needs root to drop to another user")
        let set = try makeSemaphoreSet([0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        func asNobody(_ arguments: String...) throws -> String {
            try TestPeer.run(Spawn(TestPeer.path, arguments: ["as-user", "65534"] + arguments)).output
        }
        #expect(try asNobody("semset-get", "\(set.id)", "0") == "EACCES", "0600: no read")
        #expect(try asNobody("semset-op", "\(set.id)", "0:+1") == "EACCES")
        try set.changePermissions(mode: FilePermissions(rawValue: 0o604))
        #expect(try asNobody("semset-get", "\(set.id)", "0") == "0", "read, but not alter")
        #expect(try asNobody("semset-op", "\(set.id)", "0:+1") == "EACCES")
        try set.changePermissions(mode: FilePermissions(rawValue: 0o606))
        #expect(try asNobody("semset-op", "\(set.id)", "0:+1") == "ok")
        #expect(try set.value(of: 0) == 1)
    }

    // MARK: bad input

    @Test("bad counts, values, members and changes are refused before the call")
    func badInput() throws {
        let key = TestObjects.systemVKey()
        let noMembers = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.create(key: key, count: 0) }
        #expect(noMembers?.errno == .invalidArgument)
        let mismatch = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.create(key: key, count: 2, initialValues: [1]) }
        #expect(mismatch?.errno == .invalidArgument)
        let tooBig = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.create(key: key, count: 1, initialValues: [32768]) }
        #expect(tooBig?.errno == .outOfRange)
        #expect(tooBig?.detail?.contains("SEMVMX") == true)
        #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.open(key: key) }  // nothing was created
        let privateOpen = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.open(key: .private) }
        #expect(privateOpen?.errno == .invalidArgument)

        let set = try SystemVSemaphoreSet.create(key: key, count: 2)
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let larger = #expect(throws: IPCError.self) { _ = try SystemVSemaphoreSet.openOrCreate(key: key, count: 3) }
        #expect(larger?.errno == .invalidArgument, "semget: the existing set has fewer members")

        let member = #expect(throws: IPCError.self) { try set.perform([.add(to: 0), .add(to: 2)]) }
        #expect(member?.errno == .fileTooLarge)
        #expect(member?.detail?.contains("member 2 is not in the set") == true)
        let negative = #expect(throws: IPCError.self) { _ = try set.tryPerform(.add(to: -1)) }
        #expect(negative?.errno == .invalidArgument)
        let change = #expect(throws: IPCError.self) { _ = try set.perform(.add(40000, to: 0), until: .now) }
        #expect(change?.errno == .outOfRange)
        let huge = #expect(throws: IPCError.self) { try set.perform(.init(member: 0, delta: .min)) }
        #expect(huge?.errno == .outOfRange)
        let empty = #expect(throws: IPCError.self) { try set.perform([]) }
        #expect(empty?.errno == .invalidArgument)
        #expect(try set.values() == [0, 0], "nothing was performed")

        let overflow = #expect(throws: IPCError.self) {
            try set.setValue(32767, of: 0)
            try set.perform(.add(to: 0))
        }
        #expect(overflow?.errno == .outOfRange, "the kernel's SEMVMX check")
        #expect(#expect(throws: IPCError.self) { try set.setValues([1]) }?.errno == .invalidArgument)
        #expect(#expect(throws: IPCError.self) { try set.setValue(-1, of: 0) }?.errno == .outOfRange)
        #expect(#expect(throws: IPCError.self) { _ = try set.value(of: 2) }?.errno == .invalidArgument)
    }

    @Test("a set created read-only for its owner is initialised first, then given its mode")
    func readOnlyCreation() throws {
        let set = try SystemVSemaphoreSet.create(key: .private, count: 2, permissions: [.ownerRead], initialValues: [3, 1])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        #expect(try set.permissions().mode == [.ownerRead])
        #expect(try set.values() == [3, 1])
        #expect(try set.status().lastOperationTime != nil, "marked initialised")
    }

    @Test("operations read and print as MEMBER:DELTA with u and n")
    func operationText() throws {
        let parsed = try SystemVSemaphoreSet.Operation(parsing: "1:+2un")
        #expect(parsed == .add(2, to: 1, flags: [.undo, .noWait]))
        #expect(try SystemVSemaphoreSet.Operation(parsing: "0:-1") == .take(from: 0))
        #expect(try SystemVSemaphoreSet.Operation(parsing: "3:0") == .waitForZero(3))
        #expect(SystemVSemaphoreSet.Operation.take(from: 0, flags: .undo).description == "0:-1u")
        for bad in ["", "1", "1:", ":1", "a:1", "1:1:1", "1:x"] {
            #expect(throws: IPCError.self, "\(bad)") { _ = try SystemVSemaphoreSet.Operation(parsing: bad) }
        }
    }
}

@Suite("System V semaphore sets, async (Y3)", .serialized)
struct SystemVSemaphoreSetAsyncTests {
    @Test("an async operation waits on a library thread and is completed by another process")
    func asyncPerform() async throws {
        let set = try makeSemaphoreSet([0, 0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        #expect(try await timesOut { try await set.performAsync([.take(from: 0)], until: .after(.milliseconds(20))) })
        let task = Task { try await set.performAsync([.take(from: 0), .take(from: 1)]) }
        #expect(try await eventually { try set.waitingForIncrease(of: 0) == 1 })
        #expect(try TestPeer.run(TestPeer.spawn("semset-op", "\(set.id)", "0:+1", "1:+1")).output == "ok")
        let outcome = await result(of: task, within: .seconds(30))
        #expect(outcome != nil)
        try outcome?.get()
        #expect(try set.values() == [0, 0])
        // Operations that can be performed at once need no thread.
        try await set.performAsync(.add(to: 1))
        try await set.performAsync(.take(from: 1), until: .now)
    }

    @Test("cancelling an async operation blocked in semop ends it promptly with CancellationError, changes nothing, and its worker leaves semop")
    func cancelled() async throws {
        let set = try makeSemaphoreSet([0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let operations = SystemVSemaphoreSet.SembufList([sembuf(sem_num: 0, sem_op: -1, sem_flg: 0)])
        let task = Task { try await set.performAsync(operations, until: .distantFuture) }
        let semop = [SyscallNumber.semop, SyscallNumber.semtimedop]
        let worker = try #require(await engineWorker(blockedIn: semop, firstArgument: hexArgument(set.id)),
                                  "no worker waits in semop on this set")
        task.cancel()
        let outcome = await result(of: task, within: .seconds(60))
        #expect(outcome != nil, "the cancelled operation did not end")
        #expect(throws: CancellationError.self) { try outcome?.get() }
        #expect(await leftCall(worker, semop, firstArgument: hexArgument(set.id)), "the worker is still in semop")
        #expect(try set.waitingForIncrease(of: 0) == 0)
        try await set.performAsync(.add(to: 0))
        #expect(try set.value(of: 0) == 1, "the cancelled operation took nothing")
    }

    @Test("an async waiter gets EIDRM when another process removes the set")
    func asyncRemoved() async throws {
        let set = try makeSemaphoreSet([0])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let task = Task { try await set.performAsync(.take(from: 0)) }
        #expect(try await eventually { try set.waitingForIncrease(of: 0) == 1 })
        #expect(try TestPeer.run(Spawn(IPCTool.path, arguments: ["semset", "rm", "--id", "\(set.id)"])).status == .exited(0))
        let outcome = await result(of: task, within: .seconds(30))
        #expect(outcome != nil)
        let error = #expect(throws: IPCError.self) { try outcome?.get() }
        #expect(error?.errno == .identifierRemoved)
    }
}
