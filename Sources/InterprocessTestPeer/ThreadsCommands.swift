import CInterprocess
import Interprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the library's threads, signals and futexes.

extension PeerCommands {
    static let threads: [String: PeerCommand] = [
        // futex-wait NAME MILLISECONDS: map the shared memory object NAME and wait on
        // its first word while it holds 0, until woken or the time passes; print
        // "woken" or "timed out".
        "futex-wait": { args in
            let mapping = try PosixSharedMemory.open(args[0]).map()
            do {
                try mapping.futexWait(at: 0, expecting: 0, timeout: .milliseconds(Int64(args[1])!))
                say("woken")
            } catch let error as IPCError where error.isTimeout {
                say("timed out")
            }
            return 0
        },
        // interrupt-chain: install a SIGURG handler of the program's own, make the
        // library interrupt a time-bounded System V receive with SIGURG (its
        // deadline), then send SIGURG to the process. Prints "handled N library M":
        // how many SIGURG reached the program's handler (1 when the library's were
        // kept apart) and whether (1) or not (0) the library's handler kept some.
        "interrupt-chain": { _ in
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in ProgramURG.count.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            guard sigaction(SIGURG, &action, nil) == 0 else { return 1 }
            guard try receiveTimesOut() else { return 2 }
            kill(getpid(), SIGURG)
            say("handled \(ProgramURG.count.load(ordering: .relaxed)) library \(cipc_interrupt_library() > 0 ? 1 : 0)")
            return 0
        },
        // reactor-fork: an async read through the reactor, then fork; the child does
        // another async read through the reactor (a fresh one) and exits 0, or 3 when
        // no reactor thread appears in 10 s. Prints "child N" (128 + signal when a
        // signal ended it).
        "reactor-fork": { _ in
            guard try asyncReadThroughReactor() else { return 1 }
            // fork() copies only this thread: the others must not be inside the Swift
            // runtime (holding its locks) at that moment, or the child can trap.
            waitUntilOtherThreadsSleep()
            let child = fork()
            if child == 0 {
                let ok = (try? asyncReadThroughReactor()) ?? false
                _exit(ok ? 0 : 3)
            }
            var status: CInt = 0
            guard child > 0, waitpid(child, &status, 0) == child else { return 2 }
            say("child \(shellStatus(status))")
            return 0
        },
        // signalfd-async COUNT: block SIGRTMIN, read it through a signalfd; start async
        // waits that run on library threads (reactor reads, blocking calls with a
        // deadline) while SIGRTMIN is unblocked in this thread (so threads that
        // inherited its mask would take it), block it again, queue COUNT SIGRTMIN with
        // values 0…COUNT-1 to the process and read them all from the signalfd while
        // the waits run. Prints "received N stray M" (M: caught by a handler, i.e.
        // taken by a thread that had the signal unblocked).
        "signalfd-async": { args in
            let count = Int(args[0])!
            let signal = __libc_current_sigrtmin()
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in StrayRT.count.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            pthread_sigmask(SIG_BLOCK, &set, nil)
            let signalfd = cipc_signalfd(-1, &set, CInt(O_CLOEXEC))
            let blocked = set
            guard signalfd >= 0 else { return 1 }
            let received = try runAsync { () async throws -> Int in
                let waits = 8
                var pipes: [(reader: CInt, writer: CInt)] = []
                for _ in 0..<waits * 2 {
                    var ends: [CInt] = [-1, -1]
                    guard cipc_pipe2(&ends, O_CLOEXEC) == 0 else { return -1 }
                    pipes.append((ends[0], ends[1]))
                }
                defer { for pipe in pipes { close(pipe.reader); close(pipe.writer) } }
                let started = Counter()
                var unblocked = blocked
                pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
                let engineWaits = try EngineWaits()
                let tasks = pipes.indices.map { index in
                    let reader = pipes[index].reader
                    return Task {
                        if index < waits {
                            // A reactor read.
                            started.value.add(1, ordering: .relaxed)
                            let owned = OwnedDescriptor(adopting: FileDescriptor(rawValue: dup(reader)))
                            try await owned.waitAsync(for: .readable)
                        } else {
                            // A semaphore wait on a worker of the library's waiting engine.
                            started.value.add(1, ordering: .relaxed)
                            _ = try await engineWaits.semaphore.waitAsync(until: .after(.seconds(60)))
                        }
                    }
                }
                while started.value.load(ordering: .relaxed) < pipes.count || !threadExists("ipc-reactor") { await Task.yield() }
                pthread_sigmask(SIG_BLOCK, &unblocked, nil)
                for value in 0..<count {
                    guard sigqueue(getpid(), signal, sigval(sival_int: CInt(value))) == 0 else { return -1 }
                }
                var seen = Set<UInt32>()
                var info = [UInt8](repeating: 0, count: 128)
                while seen.count < count {
                    var entry = pollfd(fd: signalfd, events: Int16(POLLIN), revents: 0)
                    guard poll(&entry, 1, 10_000) == 1 else { break }
                    guard read(signalfd, &info, 128) == 128 else { break }
                    seen.insert(UInt32(bitPattern: info.withUnsafeBytes { cipc_signalfd_value($0.baseAddress!) }))
                }
                for pipe in pipes {
                    var byte: UInt8 = 1
                    _ = write(pipe.writer, &byte, 1)
                }
                for _ in waits..<pipes.count { try engineWaits.semaphore.post() }
                for task in tasks { _ = try await task.value }
                return seen == Set((0..<count).map(UInt32.init)) ? seen.count : -seen.count
            }
            say("received \(received) stray \(StrayRT.count.load(ordering: .relaxed))")
            return 0
        },
    ]
}

/// A semaphore the engine's waits share.
final class EngineWaits: Sendable {
    let semaphore: UnnamedSemaphore
    init() throws { semaphore = try UnnamedSemaphore(value: 0) }
}

/// A counter shared with closures (an `Atomic` cannot be captured).
final class Counter: Sendable { let value = Atomic<Int>(0) }

private enum ProgramURG { static let count = Atomic<Int>(0) }
private enum StrayRT { static let count = Atomic<Int>(0) }

/// A receive from a new, empty System V queue with a deadline 100 ms away (the
/// library interrupts it with SIGURG at the deadline): whether it timed out.
func receiveTimesOut() throws -> Bool {
    let queue = try SystemVMessageQueue.create(key: .private)
    defer { try? queue.remove() }
    do {
        _ = try queue.receive(until: .after(.milliseconds(100)))
        return false
    } catch where error.errno == .timedOut {
        return true
    }
}

/// Whether a thread of this process is named `name` (/proc/self/task/*/comm).
func threadExists(_ name: String) -> Bool {
    guard let dir = opendir("/proc/self/task") else { return false }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard tid.first?.isNumber == true, let file = fopen("/proc/self/task/\(tid)/comm", "r") else { continue }
        var line = [CChar](repeating: 0, count: 64)
        let read = fgets(&line, 64, file) != nil
        fclose(file)
        if read, String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == name + "\n" { return true }
    }
    return false
}

/// An async read of one byte from a new pipe that goes through the reactor: the
/// byte is written only once the reactor's thread exists (so the read found the
/// pipe empty and waits in the reactor). Ends the process with status 3 when no
/// reactor thread appears within 10 s (the read would never end).
func asyncReadThroughReactor() throws -> Bool {
    var ends: [CInt] = [-1, -1]
    guard cipc_pipe2(&ends, O_CLOEXEC) == 0 else { return false }
    let reader = ends[0], writer = ends[1]
    defer { close(writer) }
    let wrote = Counter()
    let helper = try LibraryThread.start(name: "peer-writer") {
        let deadline = Deadline.after(.seconds(10))
        while !threadExists("ipc-reactor") && !deadline.hasPassed { sched_yield() }
        // No reactor thread: the read would wait for ever; end the process instead.
        guard threadExists("ipc-reactor") else { _exit(3) }
        var byte: UInt8 = 7
        wrote.value.store(write(writer, &byte, 1) == 1 ? 1 : 0, ordering: .relaxed)
    }
    let bytes = try runAsync { () async throws -> [UInt8] in
        let owned = OwnedDescriptor(adopting: FileDescriptor(rawValue: reader))
        return try await owned.readAsync(upTo: 1)
    }
    LibraryThread.join(helper)
    return bytes == [7] && wrote.value.load(ordering: .relaxed) == 1
}

/// Runs `body` as a task on this thread and returns its result: the task's jobs run
/// here (a task executor), so no thread pool is needed — it works in a forked child.
func runAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let executor = ThisThreadExecutor()
    let result = ResultSlot<T>()
    Task(executorPreference: executor) {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        result.value.withLock { $0 = outcome }
        executor.finish()
    }
    executor.run()
    return try result.value.withLock { $0! }.get()
}

private final class ResultSlot<T: Sendable>: Sendable {
    let value = Mutex<Result<T, any Error>?>(nil)
}

/// Runs the jobs enqueued on it on the thread that calls `run`, until `finish`.
final class ThisThreadExecutor: TaskExecutor, @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var jobs: [UnownedJob] = []
    private var finished = false

    init() {
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&changed, nil)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(&lock)
        jobs.append(job)
        pthread_cond_signal(&changed)
        pthread_mutex_unlock(&lock)
    }

    func finish() {
        pthread_mutex_lock(&lock)
        finished = true
        pthread_cond_signal(&changed)
        pthread_mutex_unlock(&lock)
    }

    func run() {
        while true {
            pthread_mutex_lock(&lock)
            while jobs.isEmpty && !finished { pthread_cond_wait(&changed, &lock) }
            if jobs.isEmpty {
                pthread_mutex_unlock(&lock)
                return
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(&lock)
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Returns once every other thread of this process has been seen asleep (state S in
/// /proc/self/task/TID/stat) in two passes in a row, or after 10 s.
func waitUntilOtherThreadsSleep() {
    let me = cipc_gettid()
    let deadline = Deadline.after(.seconds(10))
    var quietPasses = 0
    while quietPasses < 2 && !deadline.hasPassed {
        guard let dir = opendir("/proc/self/task") else { return }
        var allAsleep = true
        while let entry = readdir(dir) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let number = pid_t(tid), number != me, let file = fopen("/proc/self/task/\(tid)/stat", "r") else { continue }
            var line = [CChar](repeating: 0, count: 512)
            let read = fgets(&line, 512, file) != nil
            fclose(file)
            let stat = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "TID (NAME) STATE …": the state follows the last parenthesis.
            guard read, let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2 else { continue }
            if stat[stat.index(close, offsetBy: 2)] != "S" { allAsleep = false }
        }
        closedir(dir)
        quietPasses = allAsleep ? quietPasses + 1 : 0
        sched_yield()
    }
}
