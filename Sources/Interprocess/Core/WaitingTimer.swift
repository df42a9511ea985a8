#if canImport(Glibc)
import Glibc
#endif

// The engine's one timer: a thread that sleeps on a condition until the earliest
// entry of a binary heap of jobs (their deadline, or the next repeat of an
// interrupt), fires it, and ends after `idleRetirement` with an empty heap.
// Everything here runs with the engine's lock held.
extension WaitingEngineCore {
    /// Starts the timer thread unless it runs.
    func ensureTimer() throws(IPCError) {
        if timerRunning { return }
        try LibraryThread.startDetached(name: "ipc-wait-timer") { [self] in runTimer() }
        timerRunning = true
    }

    private func runTimer() {
        lock.lock()
        while true {
            let now = Deadline.now.nanoseconds
            // No reference to a job is kept across the wait: a blocking wait's job
            // must be gone when its caller returns (`withoutActuallyEscaping`).
            if let next = heap.first?.timerAt {
                if next <= now {
                    let first = heap[0]
                    unschedule(first)
                    timerFired(first)
                } else {
                    _ = timerWake.wait(lock, until: Deadline(nanoseconds: next))
                }
            } else if !timerWake.wait(lock, until: Deadline(nanoseconds: now &+ WaitingEngine.idleRetirement)) && heap.isEmpty {
                break
            }
        }
        timerRunning = false
        lock.unlock()
    }

    /// Puts `job` in the heap at `time` (or moves it there); wakes the timer when
    /// it became the earliest.
    func schedule(_ job: WaitingJob, at time: UInt64) {
        if job.heapIndex >= 0 { unschedule(job) }
        job.timerAt = time
        job.heapIndex = heap.count
        heap.append(job)
        siftUp(job.heapIndex)
        if job.heapIndex == 0 { timerWake.signal() }
    }

    /// Takes `job` out of the heap if it is there.
    func unschedule(_ job: WaitingJob) {
        let index = job.heapIndex
        guard index >= 0 else { return }
        job.heapIndex = -1
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap[index] = last
        last.heapIndex = index
        siftDown(index)
        siftUp(last.heapIndex)
    }

    private func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[index].timerAt < heap[parent].timerAt else { return }
            swapEntries(index, parent)
            index = parent
        }
    }

    private func siftDown(_ start: Int) {
        var index = start
        while true {
            var smallest = index
            for child in [2 * index + 1, 2 * index + 2] where child < heap.count && heap[child].timerAt < heap[smallest].timerAt {
                smallest = child
            }
            if smallest == index { return }
            swapEntries(index, smallest)
            index = smallest
        }
    }

    private func swapEntries(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].heapIndex = a
        heap[b].heapIndex = b
    }
}
