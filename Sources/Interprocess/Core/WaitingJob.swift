#if canImport(Glibc)
import Glibc
#endif

/// One wait of the `WaitingEngine`: its attempt, its deadline, and where it is.
/// Everything but the two constants is guarded by the engine's lock.
final class WaitingJob: @unchecked Sendable {
    /// One blocking call: true when it ended with a result, false after `EINTR`.
    let attempt: () -> Bool
    /// When the engine interrupts it; `.distantFuture` for never.
    let interruptAt: Deadline

    /// Set once, by the cancellation or the timer.
    var interruption: WaitingEngine.Interruption?
    /// The thread making the attempts, and whether it is inside one now: only
    /// then may it be signalled.
    var thread = pthread_t()
    var inCall = false
    /// The attempts are over; nothing may signal the thread for this job any more.
    var over = false
    /// The async form's task, resumed by the worker.
    var continuation: UnsafeContinuation<Result<WaitingEngine.Interruption?, IPCError>, Never>?

    /// The timer's entry: when it fires (the deadline, then the repeats of the
    /// interrupt) and where it is in the heap (-1: not there).
    var timerAt: UInt64 = 0
    var heapIndex = -1
    var repeatPause: UInt64 = 0

    init(interruptAt: Deadline, _ attempt: @escaping () -> Bool) {
        self.attempt = attempt
        self.interruptAt = interruptAt
    }
}

extension WaitingEngineCore {
    /// Makes the job's attempts on the calling thread with the interrupt signal
    /// let through, until one ends with a result (nil) or the job is interrupted
    /// (the reason). The flag is checked, and the thread marked inside the call,
    /// under the lock; see `WaitingEngine` for the race this leaves and its repeat.
    func runAttempts(_ job: WaitingJob) -> WaitingEngine.Interruption? {
        let mask = LibrarySignals.beginInterruptibleWait()
        defer { LibrarySignals.endInterruptibleWait(restoring: mask) }
        let me = pthread_self()
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let reason = job.interruption {
                finish(job)
                return reason
            }
            job.thread = me
            job.inCall = true
            lock.unlock()
            let ended = job.attempt()
            lock.lock()
            job.inCall = false
            if ended {
                finish(job)
                return nil
            }
        }
    }

    /// Interrupts `job` unless it is over or interrupted already (lock held):
    /// sets its flag and signals its thread if that is inside the call, then has
    /// the timer repeat the signal while it stays there.
    func interruptLocked(_ job: WaitingJob, because reason: WaitingEngine.Interruption) {
        guard !job.over, job.interruption == nil else { return }
        job.interruption = reason
        guard job.inCall else {
            unschedule(job)
            return
        }
        pthread_kill(job.thread, LibrarySignals.interrupt)
        job.repeatPause = WaitingEngine.firstRepeat
        scheduleRepeat(job)
    }

    func interrupt(_ job: WaitingJob, because reason: WaitingEngine.Interruption) {
        lock.lock()
        interruptLocked(job, because: reason)
        lock.unlock()
    }

    /// The timer's entry for `job` came (lock held): its deadline, or a repeat.
    func timerFired(_ job: WaitingJob) {
        if job.interruption == nil {
            interruptLocked(job, because: .timedOut)
            return
        }
        guard !job.over, job.inCall else { return }
        pthread_kill(job.thread, LibrarySignals.interrupt)
        job.repeatPause = min(job.repeatPause * 2, WaitingEngine.longestRepeat)
        scheduleRepeat(job)
    }

    private func scheduleRepeat(_ job: WaitingJob) {
        // Without a timer thread (none could be started) the signal is sent once.
        guard (try? ensureTimer()) != nil else { return }
        schedule(job, at: Deadline.now.nanoseconds &+ job.repeatPause)
    }

    /// The attempts are over (lock held).
    func finish(_ job: WaitingJob) {
        job.over = true
        unschedule(job)
    }
}
