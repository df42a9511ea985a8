import CIPCTool
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// A door server run as a daemon (SPEC P3–P5 with R1): `ipc door serve … --daemon`
/// and `ipc door stop`.
///
/// The launcher starts `ipc` again, with the same arguments, as a daemon
/// (`Daemon.launch`: a new program in a new session, not by fork) and learns
/// whether it started. The daemon takes a pid file in the runtime directory (a
/// second server of the same path is refused naming the first one's pid), attaches
/// the door, logs to syslog (identity `ipc-door`, facility daemon), reports ready,
/// and then reads SIGHUP (reload: reconnect to syslog and say so — the door's
/// configuration is its command line, read at start) and SIGTERM or SIGINT (stop:
/// close the door, which removes its path, log, exit 0) through `DaemonSignals`.
enum DoorService {
    /// The launcher's side: the daemon's pid, or its start-up error.
    static func launch(_ arguments: [String]) throws(IPCError) -> pid_t {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = count > 0 ? String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/proc/self/exe"
        return try Daemon(executable, arguments: arguments).launch(timeout: .seconds(30))
    }

    /// The pid file of the server of `path`: `ipc-door-` and the path's
    /// characters, `/` made `_`, then a hash of the exact path (two paths that
    /// differ only in a `/` or `_` keep apart).
    static func pidFileName(for path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let readable = String(path.map { $0 == "/" ? "_" : $0 }.prefix(64))
        return "ipc-door\(readable)-\(String(hash, radix: 16))"
    }

    /// The daemon's side, from start-up to exit. `makeDoor` creates and attaches
    /// the door.
    static func run(path: String, pidDirectory: FilePath?, syslog: SyslogDestination,
                    makeDoor: () throws(IPCError) -> Door) -> Never {
        let startup = DaemonStartup.current
        var log = SyslogSender(identity: "ipc-door", facility: .daemon, options: [.pid], destination: syslog)
        let pidFile: PidFile
        let door: Door
        let signals: DaemonSignals
        do throws(IPCError) {
            pidFile = try PidFile(name: pidFileName(for: path), directory: pidDirectory)
            signals = try DaemonSignals()
            door = try makeDoor()
        } catch {
            log.log(.error, "door \(path) did not start: \(error)")
            startup.reportFailure(error)
            exit(Int32(ExitStatus(error).rawValue))
        }
        log.log(.notice, "serving door \(path) (pid file \(pidFile.path))")
        startup.reportReady()
        while true {
            let request: DaemonSignals.Request
            do throws(IPCError) { request = try signals.next() } catch {
                log.log(.error, "door \(path): reading signals failed: \(error); stopping")
                break
            }
            switch request {
            case .reload:
                log = SyslogSender(identity: "ipc-door", facility: .daemon, options: [.pid], destination: syslog)
                log.log(.notice, "door \(path) reloaded: \(door.info.clients) client(s), \(door.info.callsServed) call(s) served")
                continue
            case .stop:
                break
            }
            break
        }
        door.close()
        log.log(.notice, "door \(path) stopped after \(door.info.callsServed) call(s)")
        _ = consume pidFile
        exit(0)
    }

    /// `ipc door stop PATH`: SIGTERM to the door's server (its pid from the door
    /// itself), then waits until that process has ended (a pidfd, so a reused pid
    /// is never mistaken for it). Returns the pid.
    static func stop(_ path: FilePath, timeout: Duration) throws(IPCError) -> pid_t {
        let deadline = Deadline.after(timeout)
        let pid = try Door.info(at: path, timeout: timeout).serverPid
        let process = cipc_tool_pidfd_open(pid)
        if process < 0 {
            throw IPCError(Errno(rawValue: errno), operation: "pidfd_open", object: "pid \(pid)", detail: "the door's server")
        }
        defer { close(process) }
        try Signals.send(SIGTERM, to: pid)
        var entry = pollfd(fd: process, events: Int16(POLLIN), revents: 0)
        while true {
            let left = deadline.remaining
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            let ready = poll(&entry, 1, max(milliseconds, 0))
            if ready > 0 { break }
            if ready == 0 || errno != EINTR {
                throw IPCError(.timedOut, operation: "ipc door stop", object: "\"\(path.string)\"",
                               detail: "the server (pid \(pid)) did not end within \(timeout) of SIGTERM")
            }
        }
        return pid
    }
}
