import CInterprocess
import Interprocess
import SystemPackage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns a stuck bench run into an error instead of a hang.
///
/// A thread waits on a duplicate of the child's pidfd and on a disarm pipe, until a
/// deadline. A child that dies is noticed by the transport itself (its reads see
/// end of file, its writes EPIPE), so the watchdog only steps in when the run makes
/// no progress: at the deadline it kills the child through the pidfd, which turns
/// the parent's blocked read into end of file. A transport whose reads do not end
/// when the peer goes away (a datagram socket) names a socket to shut down when the
/// child ends, which wakes the blocked receive; a message queue transport names an
/// action that wakes its blocked receive (removing a System V queue, sending a POSIX
/// queue an empty message). Should the parent still not come back
/// (a transport blocked somewhere a dead peer cannot wake, e.g. opening a FIFO), it
/// reports that and ends the process rather than hang.
final class Watchdog: @unchecked Sendable {
    private let pidfd: OwnedDescriptor
    private var disarm: PipeWriter?
    private let wake: PipeReader
    private let run: String
    private let seconds: Int
    /// A duplicate of a socket to shut down when the child ends.
    private let shutDownOnExit: UnixSocket?
    /// What to do when the child ends, to wake a receive that has no end of file;
    /// called repeatedly until the parent is back.
    private let onExit: (@Sendable () -> Void)?
    private let fired = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var joined = false

    /// How long the parent gets to notice a dead or killed child before the
    /// watchdog ends the process.
    static let graceMilliseconds: CInt = 10_000

    /// Starts watching `child`; `run` names the run in messages.
    init(child: borrowing ChildProcess, run: String, seconds: Int, shutDownOnExit: consuming UnixSocket? = nil,
         onExit: (@Sendable () -> Void)? = nil) throws(IPCError) {
        pidfd = try child.pidDescriptor.duplicate()
        let pipe = try Pipe()
        wake = pipe.reader
        let writer = pipe.writer
        disarm = consume writer
        self.run = run
        self.seconds = seconds
        self.shutDownOnExit = shutDownOnExit
        self.onExit = onExit
        thread = try LibraryThread.start(name: "ipc-bench-watch") { [self] in watch() }
    }

    /// True once the watchdog killed the child for making no progress.
    var hasFired: Bool { fired.load(ordering: .acquiring) }

    /// Stops watching and waits for the thread. Idempotent.
    func stop() {
        guard !joined else { return }
        joined = true
        if let writer = disarm.take() { try? writer.close() }
        LibraryThread.join(thread)
    }

    deinit { stop() }

    /// Whether the ended child exited with status 0 (it is not reaped here).
    private func childExitedCleanly() -> Bool {
        var event = cipc_child_event()
        let rc = cipc_waitid(idtype_t(UInt32(cipc_p_pidfd())), id_t(pidfd.rawValue), WEXITED | WNOWAIT | WNOHANG, &event)
        return rc == 0 && event.pid != 0 && event.code == CLD_EXITED && event.status == 0
    }

    private func watch() {
        var entries = [pollfd(fd: wake.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pidfd.rawValue, events: Int16(POLLIN), revents: 0)]
        let deadline = Deadline.after(.seconds(seconds))
        // Whether the parent's blocked call must be woken: not after a clean exit
        // (status 0, after QUIT), whose last answer is still on its way to the
        // parent — waking it then could destroy that answer.
        var wakeParent = true
        while true {
            let left = deadline.remaining
            let milliseconds = CInt(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            let ready = poll(&entries, 2, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            if entries[0].revents != 0 { return }  // disarmed
            if entries[1].revents != 0 {  // the child ended
                wakeParent = !childExitedCleanly()
                break
            }
            if ready == 0 {
                fired.store(true, ordering: .releasing)
                _ = cipc_pidfd_send_signal(pidfd.rawValue, SIGKILL)
                break
            }
        }
        if wakeParent { try? shutDownOnExit?.shutdown(.both) }
        // The action runs every 10 ms until the parent is back: waking a sender
        // on a full queue may only move it on to the next blocking call.
        let action = wakeParent ? onExit : nil
        let grace = Deadline.after(.milliseconds(Int64(Self.graceMilliseconds)))
        var disarmed = [pollfd(fd: wake.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
        while !grace.hasPassed {
            action?()
            let ready = poll(&disarmed, 1, action == nil ? Self.graceMilliseconds : 10)
            if ready > 0 { return }
        }
        let reason = hasFired ? "made no progress in \(seconds) s" : wakeParent ? "died" : "exited"
        let text = "\nipc bench: bench-peer for \(run) \(reason) and the transport did not notice; giving up\n"
        var bytes = Array(text.utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
        _exit(3)
    }
}
