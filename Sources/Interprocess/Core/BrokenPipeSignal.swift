#if canImport(Glibc)
import Glibc
#endif

/// Makes writes to a pipe, FIFO or socket with no reader left fail with `EPIPE`
/// instead of killing the process with `SIGPIPE` (SPEC S1).
///
/// The library sets `SIGPIPE` to be ignored the first time it creates such a
/// descriptor; this is the only process-wide change it makes, and the one every
/// runtime that does I/O makes. Children spawned by the library get the default
/// disposition back (`POSIX_SPAWN_SETSIGDEF`).
enum BrokenPipeSignal {
    private static let ignored: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    @inline(__always)
    static func ignore() { _ = ignored }
}
