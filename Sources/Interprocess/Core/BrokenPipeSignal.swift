#if canImport(Glibc)
import Glibc
#endif

/// Makes writes to a pipe, FIFO or socket with no reader left fail with `EPIPE`
/// instead of killing the process with `SIGPIPE` (SPEC S1).
///
/// The first time the library creates such a descriptor it sets `SIGPIPE` to be
/// ignored — only if its disposition is still the default, so a handler the
/// program installed is kept. Children spawned by the library get the default
/// disposition back (`POSIX_SPAWN_SETSIGDEF`).
enum BrokenPipeSignal {
    private static let ignored: Void = {
        var current = sigaction()
        guard sigaction(SIGPIPE, nil, &current) == 0 else { return }
        let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
        if handler == 0 /* SIG_DFL */ {
            signal(SIGPIPE, SIG_IGN)
        }
    }()

    @inline(__always)
    static func ignore() { _ = ignored }
}
