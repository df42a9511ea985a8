import Interprocess

#if canImport(Glibc)
import Glibc
#endif

// Hand-shakes on state another process or thread changes (a peer blocked in a
// system call, GETNCNT, a thread gone from /proc): the test polls that state
// itself, every millisecond. The timeout only turns a hang into a failure.

/// Polls `condition` until it holds; false after `timeout`.
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Deadline.after(timeout)
    while !deadline.hasPassed {
        if try condition() { return true }
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        nanosleep(&pause, nil)
    }
    return try condition()
}

/// Polls `condition` until it holds, suspending between polls; false after `timeout`.
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Deadline.after(timeout)
    while !deadline.hasPassed {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return try condition()
}
