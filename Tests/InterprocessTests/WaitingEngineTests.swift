@testable import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Shares one in-process semaphore between tasks.
private final class SharedSemaphore: Sendable {
    let semaphore: UnnamedSemaphore
    init(_ value: Int) throws { semaphore = try UnnamedSemaphore(value: value) }
}

/// One mapping shared by tasks.
private final class SharedMapping: Sendable {
    let mapping: MemoryMapping
    init(_ mapping: consuming MemoryMapping) { self.mapping = mapping }
}

/// Threads of this process named `name` (/proc/self/task/TID/comm).
private func threads(named name: String) -> [pid_t] {
    guard let directory = opendir("/proc/self/task") else { return [] }
    defer { closedir(directory) }
    var found: [pid_t] = []
    while let entry = readdir(directory) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let number = pid_t(tid) else { continue }
        if procFileText("/proc/self/task/\(tid)/comm").trimmingCharacters(in: .newlines) == name { found.append(number) }
    }
    return found
}

/// How many times an attempt saw `EINTR`.
private final class InterruptCount: Sendable {
    let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
}

/// A pipe whose read end blocks until a byte is written.
private final class BlockingPipe: Sendable {
    let readEnd: CInt
    let writeEnd: CInt

    init() throws {
        var fds: [CInt] = [0, 0]
        guard pipe(&fds) == 0 else { throw IPCError(.init(rawValue: errno), operation: "pipe") }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// One attempt: a blocking read of one byte that behaves as if the first
    /// interrupt had landed just before the call (it is swallowed and the read
    /// blocks again); nil at the second `EINTR`.
    func readSwallowingFirstInterrupt(_ interrupts: InterruptCount) -> UInt8? {
        var byte: UInt8 = 0
        while true {
            if read(readEnd, &byte, 1) == 1 { return byte }
            guard errno == EINTR else { return nil }
            if interrupts.count.add(1, ordering: .relaxed).newValue >= 2 { return nil }
        }
    }
}

@Suite("The waiting engine (Core)")
struct WaitingEngineTests {
    @Test("async waits reuse the engine's threads: over 10,000 semaphore waits, some cancelled, workers and threads stay bounded", .timeLimit(.minutes(2)))
    func threadsReused() async throws {
        let shared = try SharedSemaphore(0)
        let concurrency = 50, cancelledPerRound = 5, rounds = 200
        let baseline = threadCount()
        var workersSeen = Set<pid_t>()
        var mostThreads = baseline
        var completed = 0, cancelled = 0
        for _ in 0..<rounds {
            let tasks = (0..<concurrency).map { _ in Task { try await shared.semaphore.waitAsync() } }
            // Nothing is posted yet, so the cancelled ones cannot have succeeded.
            for task in tasks.suffix(cancelledPerRound) {
                task.cancel()
                await #expect(throws: CancellationError.self) { try await task.value }
                cancelled += 1
            }
            workersSeen.formUnion(WaitingEngine.workerThreads)
            mostThreads = max(mostThreads, threadCount())
            for _ in 0..<(concurrency - cancelledPerRound) { try shared.semaphore.post() }
            for task in tasks.dropLast(cancelledPerRound) {
                try await task.value
                completed += 1
            }
        }
        #expect(completed + cancelled == concurrency * rounds)
        #expect(try shared.semaphore.value == 0, "every post was taken exactly once")
        #expect(!workersSeen.isEmpty, "the waits went through the engine")
        // A thread per wait would show thousands of thread ids here.
        #expect(workersSeen.count <= 2 * WaitingEngine.keptWorkers, "\(workersSeen.count) worker threads for \(concurrency * rounds) waits")
        #expect(mostThreads - baseline <= concurrency + 32, "the process went from \(baseline) to \(mostThreads) threads")
    }

    @Test("a time-bounded msgrcv ends at its deadline; every deadline is kept by the one timer thread, no thread per wait", .timeLimit(.minutes(1)))
    func boundedReceiveUsesTheOneTimer() throws {
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        var timers: Set<[pid_t]> = []
        for _ in 0..<50 {
            let start = Deadline.now
            let error = #expect(throws: IPCError.self) { _ = try queue.receive(until: .after(.milliseconds(5))) }
            #expect(error?.errno == .timedOut)
            #expect(Deadline.now.nanoseconds - start.nanoseconds >= 5_000_000, "ended before its deadline")
            timers.insert(threads(named: "ipc-wait-timer"))
        }
        #expect(timers.count == 1, "the timer thread changed: \(timers)")
        #expect(timers.first?.count == 1, "one timer thread, not \(timers.first?.count ?? 0)")
    }

    @Test("cancelling an async semaphore wait is prompt: the worker leaves its futex wait", .timeLimit(.minutes(1)))
    func promptCancellation() async throws {
        let shared = try SharedSemaphore(0)
        for deadline in [Deadline.distantFuture, .after(.seconds(600))] {
            // The workers' calls on this semaphore: prompt means the one blocking
            // call ended by the interrupt the cancellation sent (EINTR), with no
            // time slices before it (ETIMEDOUT) and no wait for the deadline.
            let (worker, calls) = try await FaultInjection.recordingCalls(scope: .libraryThreads(address: shared.semaphore.operations.semaphore)) { () async throws -> pid_t in
                let task = Task { try await shared.semaphore.waitAsync(until: deadline) }
                let worker = try await waitUntilWaiting(on: shared.semaphore.operations.semaphore)
                task.cancel()
                let outcome = await result(of: task, within: .seconds(30))
                #expect(outcome != nil, "the cancelled wait did not end")
                #expect(throws: CancellationError.self) { try outcome?.get() }
                return worker
            }
            #expect(!calls.isEmpty && calls.allSatisfy { $0.errno == EINTR && !$0.injected }, "\(calls)")
            #expect(await leftCall(worker, [SyscallNumber.futex], firstArgument: hexArgument(shared.semaphore.operations.semaphore)),
                    "the worker is still in its futex wait")
        }
        #expect(try shared.semaphore.value == 0)
    }

    @Test("no polling: a worker blocked in a wait is not woken while nothing happens", .timeLimit(.minutes(1)))
    func noPeriodicWakeUps() async throws {
        let shared = try SharedSemaphore(0)
        let queue = try SystemVMessageQueue.create(key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue.id)) }
        let untimed = Task { try await shared.semaphore.waitAsync() }
        let timed = Task { try await shared.semaphore.waitAsync(until: .after(.seconds(600))) }
        let receive = Task { try await queue.receiveAsync(type: 1) }
        let semaphoreArgument = hexArgument(shared.semaphore.operations.semaphore)
        let first = try #require(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: semaphoreArgument))
        let second = try #require(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: semaphoreArgument, except: [first]))
        let receiver = try #require(await engineWorker(blockedIn: [SyscallNumber.msgrcv], firstArgument: hexArgument(queue.id)))
        let workers = [first, second, receiver]
        let before = workers.map(voluntarySwitches(of:))
        // The interval: another process waits 0.3 s for a message that never comes
        // (type 2) and says so; polling slices of 10 or 50 ms would wake the workers.
        let peer = try TestPeer.run(TestPeer.spawn("svmsg-recv", "\(queue.id)", "2", "0.3"))
        #expect(peer.output.hasPrefix("ETIMEDOUT"))
        let after = workers.map(voluntarySwitches(of:))
        #expect(before.allSatisfy { $0 != nil })
        #expect(before == after, "blocked workers were woken: \(before) -> \(after)")
        try shared.semaphore.post()
        try shared.semaphore.post()
        try await untimed.value
        try await timed.value
        try await queue.sendAsync([7], type: 1)
        #expect(try await receive.value.bytes == [7])
    }

    @Test("an interrupt that lands just before the blocking call is sent again until the call returns", .timeLimit(.minutes(1)))
    func interruptRepeatedForTheRace() async throws {
        let pipe = try BlockingPipe()
        let interrupts = InterruptCount()
        let task = Task { try await WaitingEngine.wait { pipe.readSwallowingFirstInterrupt(interrupts) } }
        let read = ["0", "63"]  // read(2) on x86-64 and arm64
        let worker = try #require(await engineWorker(blockedIn: read, firstArgument: hexArgument(pipe.readEnd)))
        task.cancel()
        let outcome = await result(of: task, within: .seconds(30))
        #expect(throws: CancellationError.self) { try outcome?.get() }
        #expect(interrupts.value == 2, "the swallowed interrupt was sent again")
        #expect(await leftCall(worker, read, firstArgument: hexArgument(pipe.readEnd)))

        // The same on the calling thread, interrupted by the timer at the deadline.
        interrupts.count.store(0, ordering: .relaxed)
        let start = Deadline.now
        let timedOut = try WaitingEngine.waitOnCallingThread(interruptingAt: .after(.milliseconds(20))) { pipe.readSwallowingFirstInterrupt(interrupts) }
        #expect(timedOut == nil)
        #expect(interrupts.value == 2)
        #expect(Deadline.now.nanoseconds - start.nanoseconds >= 20_000_000)
    }

    @Test("a result obtained as the wait is interrupted is kept; a wait cancelled before it starts makes no call")
    func resultsKept() async throws {
        let pipe = try BlockingPipe()
        var byte: UInt8 = 9
        #expect(write(pipe.writeEnd, &byte, 1) == 1)
        let interrupts = InterruptCount()
        #expect(try WaitingEngine.waitOnCallingThread(interruptingAt: .now) { pipe.readSwallowingFirstInterrupt(interrupts) } == nil,
                "a deadline already past interrupts before the first call")
        let early = Task<UInt8?, any Error> {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await WaitingEngine.wait { pipe.readSwallowingFirstInterrupt(interrupts) }
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(try WaitingEngine.waitOnCallingThread(interruptingAt: .after(.seconds(30))) { pipe.readSwallowingFirstInterrupt(interrupts) } == 9,
                "the byte was still there")
    }

    @Test("an async futex wait on a word of shared memory is woken by another process; cancelled, it ends promptly", .timeLimit(.minutes(1)))
    func asyncFutexAcrossProcesses() async throws {
        let name = TestObjects.sharedMemoryName()
        defer { try? PosixSharedMemory.unlink(name) }
        let shared = SharedMapping(try PosixSharedMemory.create(name, size: MemoryMapping.pageSize).map())
        let offset = 64
        let word = hexArgument(try shared.mapping.typedAddress("futex", UInt32.self, offset: offset, writing: true))

        // Already changed: returns at once, no worker.
        try shared.mapping.withAtomic(UInt32.self, at: offset) { $0.store(1, ordering: .releasing) }
        try await shared.mapping.futexWaitAsync(at: offset, expecting: 0, until: nil)
        try shared.mapping.withAtomic(UInt32.self, at: offset) { $0.store(0, ordering: .releasing) }
        // The kernel's own timeout.
        #expect(try await timesOut { try await shared.mapping.futexWaitAsync(at: offset, expecting: 0, until: .after(.milliseconds(20))) })

        let woken = Task { try await shared.mapping.futexWaitAsync(at: offset, expecting: 0, until: .after(.seconds(600))) }
        _ = try #require(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: word), "no worker sleeps on the word")
        let waker = try TestPeer.run(TestPeer.spawn("shm-futex-wake", name, "\(offset)", "7"))
        #expect(waker.output == "1", "the other process woke one waiter")
        try await woken.value
        #expect(try shared.mapping.withAtomic(UInt32.self, at: offset) { $0.load(ordering: .acquiring) } == 7)

        let cancelled = Task { try await shared.mapping.futexWaitAsync(at: offset, expecting: 7, until: nil) }
        let worker = try #require(await engineWorker(blockedIn: [SyscallNumber.futex], firstArgument: word), "no worker sleeps on the word")
        cancelled.cancel()
        let outcome = await result(of: cancelled, within: .seconds(30))
        #expect(throws: CancellationError.self) { try outcome?.get() }
        #expect(await leftCall(worker, [SyscallNumber.futex], firstArgument: word))
    }
}
