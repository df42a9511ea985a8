import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for daemons, pid files and reload/stop (DaemonTests; SPEC P3, P5).
// A daemon has no stdout: what it observes goes into files the test polls.

extension PeerCommands {
    static let daemons: [String: PeerCommand] = [
        // daemon-probe OUT: report ready, then write what the daemon rules are
        // about into OUT (atomically: OUT.tmp renamed), one "key value" a line.
        "daemon-probe": { args in
            let startup = DaemonStartup.current
            startup.reportReady()
            let fds = openDescriptors()
            var lines = ["daemon \(startup.isDaemon ? 1 : 0)", "pid \(getpid())", "ppid \(getppid())",
                         "sid \(getsid(0))", "pgid \(getpgrp())"]
            let tty = open("/dev/tty", O_RDWR | O_NOCTTY)
            lines.append("tty " + (tty >= 0 ? "opened" : "errno \(errno)"))
            if tty >= 0 { close(tty) }
            var cwd = [CChar](repeating: 0, count: 4096)
            lines.append("cwd " + (getcwd(&cwd, cwd.count).map { String(cString: $0) } ?? "?"))
            let mask = umask(0)
            lines.append("umask " + String(mask, radix: 8))
            lines.append("fds " + fds.map { "\($0.number)=\($0.target)" }.joined(separator: ","))
            try writeAtomically(lines.joined(separator: "\n") + "\n", to: args[0])
            return 0
        },
        // daemon-fail CONFIG: fail to read CONFIG and report the error.
        "daemon-fail": { args in
            let startup = DaemonStartup.current
            let fd = open(args[0], O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                startup.reportFailure(IPCError(Errno(rawValue: errno), operation: "open", object: "\"\(args[0])\"",
                                               detail: "reading the configuration"))
                return 1
            }
            close(fd)
            startup.reportReady()
            return 0
        },
        // daemon-hang: never report, wait for a signal.
        "daemon-hang": { _ in
            _ = DaemonStartup.current
            while true { pause() }
        },
        // daemon-silent STATUS: exit with STATUS without a report.
        "daemon-silent": { args in
            _ = DaemonStartup.current
            return Int32(args[0]) ?? 0
        },
        // daemon-service PIDFILE CONFIG LOG: a service: holds PIDFILE, loads CONFIG
        // ("loaded TEXT" into LOG), reports ready; on SIGHUP reloads ("reloaded
        // TEXT"), on SIGTERM/SIGINT logs "stopping SIGNAL" and exits 0.
        "daemon-service": { args in
            let startup = DaemonStartup.current
            let log = args[2]
            do throws(IPCError) {
                let signals = try DaemonSignals()
                let pidFile = try PidFile(path: FilePath(args[0]))
                try appendLine("loaded \(readText(args[1]))", to: log)
                startup.reportReady()
                while true {
                    switch try signals.next() {
                    case .reload(let signal):
                        try appendLine("reloaded \(readText(args[1])) by \(signal.senderPID)", to: log)
                    case .stop(let signal):
                        try appendLine("stopping \(Signals.name(of: signal.signal)) pidfile \(pidFile.path)", to: log)
                        return 0
                    }
                }
            } catch {
                startup.reportFailure(error)
                FileHandleStandardError.write("daemon-service: \(error)\n")
                return 1
            }
        },
        // syslog-fallback SOCKET: log one error through a sender to SOCKET, where
        // no syslog daemon listens: the line goes to stderr.
        "syslog-fallback": { args in
            let sender = SyslogSender(identity: "ipct-fallback", facility: .daemon, destination: .local(FilePath(args[0])))
            sender.log(.error, "hello nobody", structuredData: [.init(id: "meta@32473", parameters: [.init("k", "v")])])
            return 0
        },
        // daemon-launch sessionLeader|secondSpawn COMMAND ARGS…: the launcher side, as
        // a `--daemon` option would be: starts this peer's COMMAND as a daemon,
        // prints "daemon PID" and exits 0, or prints the error on stderr and exits 1.
        "daemon-launch": { args in
            var daemon = Daemon(CommandLine.arguments[0], arguments: Array(args.dropFirst()))
            daemon.detachment = args[0] == "sessionLeader" ? .sessionLeader : .secondSpawn
            do throws(IPCError) {
                let pid = try daemon.launch(timeout: .seconds(60))
                print("daemon \(pid)")
                return 0
            } catch {
                FileHandleStandardError.write("daemon-launch: \(error)\n")
                return 1
            }
        },
    ]
}

private func openDescriptors() -> [(number: CInt, target: String)] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    let own = dirfd(dir)
    var result: [(CInt, String)] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        guard let number = CInt(name), number != own else { continue }
        var target = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
        result.append((number, n > 0 ? String(decoding: target[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"))
    }
    return result.sorted { $0.0 < $1.0 }
}

private func readText(_ path: String) throws(IPCError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        throw IPCError(Errno(rawValue: errno), operation: "open", object: "\"\(path)\"", detail: "reading the configuration")
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[..<n]
    }
    while bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}

private func appendLine(_ line: String, to path: String) throws(IPCError) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    if fd < 0 { throw IPCError(Errno(rawValue: errno), operation: "open", object: "\"\(path)\"") }
    defer { close(fd) }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

private func writeAtomically(_ text: String, to path: String) throws(IPCError) {
    let temporary = path + ".tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if fd < 0 { throw IPCError(Errno(rawValue: errno), operation: "open", object: "\"\(temporary)\"") }
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    if rename(temporary, path) != 0 { throw IPCError(Errno(rawValue: errno), operation: "rename", object: "\"\(path)\"") }
}
