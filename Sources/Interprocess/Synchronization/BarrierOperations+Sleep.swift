import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension BarrierOperations {
    /// Sleeping on the round word alone in slices of `fallbackSlice`, checking the
    /// presence locks between them: the fallback for kernels without
    /// `futex_waitv` (before 5.16), and for tests that force it.
    static let forcesSliceSleep = Atomic<Bool>(false)
    static let waitvMissing = Atomic<Bool>(false)
    static let fallbackSlice: Duration = .milliseconds(10)

    enum Slept {
        case woken(Int)
        case again
        case interrupted
        case timedOut
        case failed(IPCError)
    }

    /// One sleep: `futex_waitv` on every word, or — without it — a slice on the
    /// round word alone.
    func sleep(_ words: UnsafeMutableBufferPointer<UnsafeMutablePointer<UInt32>?>, _ values: UnsafeMutableBufferPointer<UInt32>,
               _ count: Int, _ deadline: Deadline) -> Slept {
        if !Self.forcesSliceSleep.load(ordering: .relaxed) && !Self.waitvMissing.load(ordering: .relaxed) {
            let rc: CInt
            if deadline == .distantFuture {
                rc = system_futex_waitv(words.baseAddress!, values.baseAddress!, count, nil)
            } else {
                var at = deadline.absoluteTimespec
                rc = system_futex_waitv(words.baseAddress!, values.baseAddress!, count, &at)
            }
            if rc >= 0 { return .woken(Int(rc)) }
            switch lastErrno {
            case EAGAIN: return .again
            case EINTR: return .interrupted
            case ETIMEDOUT: return .timedOut
            case ENOSYS: Self.waitvMissing.store(true, ordering: .relaxed)
            default: return .failed(IPCError.last("futex_waitv", object: object))
            }
        }
        let slice = Deadline.after(Self.fallbackSlice)
        var at = min(slice, deadline).absoluteTimespec
        if system_futex_wait(futexWord, values[0], &at) == 0 { return .woken(0) }
        switch lastErrno {
        case EAGAIN: return .again
        case EINTR: return .interrupted
        case ETIMEDOUT: return deadline <= slice ? .timedOut : .again
        default: return .failed(IPCError.last("futex", object: object))
        }
    }
}
