import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A private rsyslogd for the syslog tests (SPEC P4): its own configuration, no
/// /dev/log, two local sockets (one parsing RFC 5424, one with imuxsock's special
/// RFC 3164 parser), UDP and TCP on loopback ports, and every message written to
/// one file as `FACILITY SEVERITY APP-NAME PROCID STRUCTURED-DATA MSG`.
/// `.ci/run` installs rsyslog; without it the tests fail.
final class Rsyslog {
    let directory: String
    let udpPort: UInt16
    let tcpPort: UInt16
    private var child: ChildProcess?

    var socket5424: FilePath { FilePath(directory + "/log5424.sock") }
    var socket3164: FilePath { FilePath(directory + "/log3164.sock") }
    private var output: String { directory + "/messages" }

    static var executable: String? {
        ["/usr/sbin/rsyslogd", "/sbin/rsyslogd", "/usr/bin/rsyslogd", "/usr/local/sbin/rsyslogd"].first { access($0, X_OK) == 0 }
    }

    /// Starts rsyslogd in `directory` and waits until it listens everywhere.
    init(in directory: String) throws {
        let executable = try #require(Self.executable, "rsyslogd is not installed: apt-get install rsyslog (.ci/run does)")
        self.directory = directory
        udpPort = try freePort(SOCK_DGRAM)
        tcpPort = try freePort(SOCK_STREAM)
        let configuration = """
            global(workDirectory="\(directory)")
            module(load="imuxsock" SysSock.Use="off")
            input(type="imuxsock" Socket="\(directory)/log5424.sock" UseSpecialParser="off" ParseHostname="on" RateLimit.Interval="0")
            input(type="imuxsock" Socket="\(directory)/log3164.sock" RateLimit.Interval="0")
            module(load="imudp")
            input(type="imudp" address="127.0.0.1" port="\(udpPort)")
            module(load="imtcp")
            input(type="imtcp" address="127.0.0.1" port="\(tcpPort)")
            template(name="probe" type="string" string="%syslogfacility-text% %syslogseverity-text% %app-name% %procid% %structured-data% %msg%\\n")
            *.* action(type="omfile" file="\(output)" template="probe")

            """
        try writeFile(directory + "/rsyslog.conf", configuration)
        var spawn = Spawn(executable, arguments: ["-n", "-f", directory + "/rsyslog.conf", "-i", directory + "/rsyslogd.pid"])
        let log = open(directory + "/rsyslogd.out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(log >= 0)
        let logDescriptor = OwnedDescriptor(adopting: FileDescriptor(rawValue: log))
        try spawn.inherit(logDescriptor, as: 1)
        try spawn.inherit(logDescriptor, as: 2)
        child = try spawn.start()
        let ready = eventually {
            access(directory + "/log5424.sock", F_OK) == 0 && access(directory + "/log3164.sock", F_OK) == 0
                && isBound(udpPort, table: "/proc/net/udp", state: "07") && isBound(tcpPort, table: "/proc/net/tcp", state: "0A")
        }
        try #require(ready, "rsyslogd did not start: \(textOfFile(directory + "/rsyslogd.out") ?? "")")
    }

    deinit { stop() }

    /// Stops rsyslogd (SIGTERM, then waits for it).
    func stop() {
        guard var running = child.take() else { return }
        try? running.signal(SIGTERM)
        if (try? running.wait(timeout: .seconds(30))) == nil {
            try? running.signal(SIGKILL)
            _ = try? running.wait()
        }
    }

    /// The lines rsyslogd has written so far.
    var lines: [String] { (textOfFile(output) ?? "").split(separator: "\n").map(String.init) }

    /// Waits until a line satisfies `match`; returns it (nil after the timeout).
    func line(where match: (String) -> Bool) -> String? {
        var found: String?
        _ = eventually {
            found = lines.first(where: match)
            return found != nil
        }
        return found
    }
}

/// A port nothing listens on now (bound to port 0 and given back).
private func freePort(_ type: __socket_type) throws -> UInt16 {
    let fd = socket(AF_INET, CInt(type.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try #require(bound)
    return UInt16(bigEndian: address.sin_port)
}

/// True when /proc/net/udp or tcp has a socket on 127.0.0.1:`port` in `state`.
private func isBound(_ port: UInt16, table: String, state: String) -> Bool {
    let local = "0100007F:" + String(format4(port))
    return (textOfFile(table) ?? "").split(separator: "\n").contains { row in
        let fields = row.split(separator: " ")
        return fields.count > 3 && fields[1] == local && fields[3] == state
    }
}

private func format4(_ port: UInt16) -> String {
    let hex = String(port, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - hex.count) + hex
}

func textOfFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    try #require(fd >= 0)
    defer { close(fd) }
    let bytes = Array(text.utf8)
    try #require(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
}
