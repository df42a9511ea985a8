import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// The state of the `WaitingEngine`: its workers and its timer, under one lock.
final class WaitingEngineCore: @unchecked Sendable {
    static let shared: WaitingEngineCore = {
        let engine = WaitingEngineCore()
        LibraryThread.afterForkInChild { engine.forgetThreadsAfterFork() }
        return engine
    }()

    let lock = EngineLock()

    // Guarded by `lock`.
    /// Idle workers, the most recently idle last (it takes the next job).
    var idle: [WaitingWorker] = []
    /// Every worker alive.
    var workers: [WaitingWorker] = []
    /// The timer's heap of jobs, earliest `timerAt` first.
    var heap: [WaitingJob] = []
    var timerRunning = false
    let timerWake = EngineCondition()

    var workerThreads: [pid_t] {
        lock.lock()
        defer { lock.unlock() }
        return workers.map(\.tid).filter { $0 != 0 }
    }

    /// Hands `job` to an idle worker, or a new one; resumes `continuation` with
    /// the error when there is none to be had.
    func submit(_ job: WaitingJob, resuming continuation: UnsafeContinuation<Result<WaitingEngine.Interruption?, IPCError>, Never>) {
        lock.lock()
        job.continuation = continuation
        if job.interruptAt.hasPassed {
            job.interruption = .timedOut
        } else if job.interruptAt != .distantFuture {
            do throws(IPCError) { try ensureTimer() } catch {
                return refuse(job, error)
            }
            schedule(job, at: job.interruptAt.nanoseconds)
        }
        if let worker = idle.popLast() {
            worker.job = job
            lock.unlock()
            worker.wake.signal()
            return
        }
        guard workers.count < WaitingEngine.maximumWorkers else {
            return refuse(job, IPCError(.resourceTemporarilyUnavailable, operation: "wait",
                                        detail: "\(WaitingEngine.maximumWorkers) waits are blocked at once in this process (the waiting engine's hard cap)"))
        }
        let worker = WaitingWorker(job)
        workers.append(worker)
        lock.unlock()
        do throws(IPCError) {
            try LibraryThread.startDetached(name: "ipc-wait") { [self] in serve(worker) }
        } catch {
            lock.lock()
            workers.removeAll { $0 === worker }
            refuse(job, error)
        }
    }

    /// Ends `job` before any attempt (lock held; released here).
    private func refuse(_ job: WaitingJob, _ error: IPCError) {
        finish(job)
        let continuation = job.continuation
        lock.unlock()
        continuation?.resume(returning: .failure(error))
    }

    /// A worker's life: run the jobs it is given; end when idle too long, or at
    /// once when the engine has grown past `keptWorkers`.
    private func serve(_ worker: WaitingWorker) {
        let tid = cipc_gettid()
        lock.lock()
        worker.tid = tid
        while true {
            if let job = worker.job {
                worker.job = nil
                lock.unlock()
                let reason = runAttempts(job)
                job.continuation!.resume(returning: .success(reason))
                lock.lock()
                if workers.count > WaitingEngine.keptWorkers { break }
                idle.append(worker)
                continue
            }
            let deadline = Deadline(nanoseconds: Deadline.now.nanoseconds &+ WaitingEngine.idleRetirement)
            if !worker.wake.wait(lock, until: deadline) && worker.job == nil {
                idle.removeAll { $0 === worker }
                break
            }
        }
        workers.removeAll { $0 === worker }
        lock.unlock()
    }

    /// A time-bounded wait on the calling thread: its deadline on the timer.
    func startOnCallingThread(_ job: WaitingJob) throws(IPCError) {
        lock.lock()
        defer { lock.unlock() }
        if job.interruptAt.hasPassed {
            job.interruption = .timedOut
            return
        }
        try ensureTimer()
        schedule(job, at: job.interruptAt.nanoseconds)
    }

    /// In the child of a `fork`: the parent's workers and timer do not exist here.
    private func forgetThreadsAfterFork() {
        lock.reinitializeAfterFork()
        idle = []
        workers = []
        for job in heap { job.heapIndex = -1 }
        heap = []
        timerRunning = false
    }
}

/// One worker thread of the engine, as the engine sees it.
final class WaitingWorker: @unchecked Sendable {
    /// Guarded by the engine's lock.
    var job: WaitingJob?
    var tid: pid_t = 0
    let wake = EngineCondition()

    init(_ job: WaitingJob) { self.job = job }
}
