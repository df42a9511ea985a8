import Dispatch
import Interprocess
import InterprocessLogging
import Logging
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Syslog through the swift-log handler, against a real rsyslogd (SPEC P4): the
// local socket (RFC 5424 and RFC 3164), UDP and TCP (RFC 6587 octet counting).
// rsyslogd writes each message as FACILITY SEVERITY APP-NAME PROCID SD MSG.

private func logger(_ sender: SyslogSender) -> Logger {
    var logger = Logger(label: "ipct") { SyslogLogHandler(label: $0, sender: sender, metadataProvider: nil) }
    logger.logLevel = .trace
    return logger
}

@Suite("Syslog (P4)", .serialized)
struct SyslogTests {
    @Test("the local socket in RFC 5424: facility, every level's severity, identity, pid and metadata as structured data")
    func localRFC5424() throws {
        try withLockDirectory { directory in
            let rsyslog = try Rsyslog(in: directory)
            defer { rsyslog.stop() }
            let sender = SyslogSender(identity: "ipct-local", facility: .local3, destination: .local(rsyslog.socket5424), format: .rfc5424)
            var log = logger(sender)
            log[metadataKey: "request"] = "42"
            log.warning("hello local", metadata: ["user": "ann", "quote": "a\"b]c", "nested": ["x": "1"]])
            let pid = getpid()
            let line = rsyslog.line { $0.contains("hello local") }
            #expect(line == #"local3 warning ipct-local \#(pid) [meta@32473 nested.x="1" quote="a\"b\]c" request="42" user="ann"] hello local"#)
            let levels: [(Logger.Level, String)] = [(.trace, "debug"), (.debug, "debug"), (.info, "info"), (.notice, "notice"),
                                                    (.warning, "warning"), (.error, "err"), (.critical, "crit")]
            for (level, _) in levels { log.log(level: level, "level \(level)") }
            for (level, severity) in levels {
                let line = rsyslog.line { $0.hasSuffix(" level \(level)") }
                #expect(line?.hasPrefix("local3 \(severity) ipct-local \(pid) ") == true, "\(level)")
            }
        }
    }

    @Test("the local socket in RFC 3164, as syslog(3) writes: metadata after the text")
    func localRFC3164() throws {
        try withLockDirectory { directory in
            let rsyslog = try Rsyslog(in: directory)
            defer { rsyslog.stop() }
            let sender = SyslogSender(identity: "ipct-bsd", facility: .daemon, destination: .local(rsyslog.socket3164))
            #expect(sender.format == .rfc3164)
            logger(sender).error("hello bsd", metadata: ["k": "v"])
            let line = rsyslog.line { $0.contains("hello bsd") }
            // rsyslog keeps the space after "TAG:" in an RFC 3164 MSG.
            #expect(line == #"daemon err ipct-bsd \#(getpid()) -  hello bsd [meta@32473 k="v"]"#)
        }
    }

    @Test("a remote collector over UDP (RFC 5424)")
    func udp() throws {
        try withLockDirectory { directory in
            let rsyslog = try Rsyslog(in: directory)
            defer { rsyslog.stop() }
            let sender = SyslogSender(identity: "ipct-udp", facility: .local7, destination: .udp(host: "127.0.0.1", port: rsyslog.udpPort))
            #expect(sender.format == .rfc5424)
            logger(sender).critical("hello udp", metadata: ["peer": "b"])
            let line = rsyslog.line { $0.contains("hello udp") }
            #expect(line == #"local7 crit ipct-udp \#(getpid()) [meta@32473 peer="b"] hello udp"#)
            // Metadata from the handler, its provider and the message (the message's
            // wins), and an error logged with it.
            var handler = SyslogLogHandler(label: "ipct", sender: sender, metadataProvider: .init { ["trace": "t1"] })
            handler[metadataKey: "a"] = "handler"
            handler[metadataKey: "b"] = "handler"
            let error = IPCError(.timedOut, operation: "op")
            handler.log(event: LogEvent(level: .error, message: "with error", error: error, metadata: ["a": "message"],
                                        source: nil, file: #fileID, function: #function, line: #line))
            let withError = rsyslog.line { $0.contains("with error") }
            #expect(withError == #"local7 err ipct-udp \#(getpid()) [meta@32473 a="message" b="handler" trace="t1" error="\#(error)"] with error"#)
        }
    }

    @Test("a remote collector over TCP: octet counting keeps a newline inside its message; eight threads at once, nothing mixed")
    func tcpFromThreads() throws {
        try withLockDirectory { directory in
            let rsyslog = try Rsyslog(in: directory)
            defer { rsyslog.stop() }
            let sender = SyslogSender(identity: "ipct-tcp", facility: .user, destination: .tcp(host: "127.0.0.1", port: rsyslog.tcpPort))
            let log = logger(sender)
            log.notice("first line\nsecond line")
            DispatchQueue.concurrentPerform(iterations: 8) { thread in
                for n in 0..<25 { log.info("message \(thread)-\(n)", metadata: ["thread": "\(thread)", "n": "\(n)"]) }
            }
            let line = rsyslog.line { $0.contains("first line") }
            #expect(line == "user notice ipct-tcp \(getpid()) - first line#012second line")
            #expect(eventually { rsyslog.lines.filter { $0.contains("message ") }.count == 200 })
            let lines = Set(rsyslog.lines)
            for thread in 0..<8 {
                for n in 0..<25 {
                    let expected = #"user info ipct-tcp \#(getpid()) [meta@32473 n="\#(n)" thread="\#(thread)"] message \#(thread)-\#(n)"#
                    #expect(lines.contains(expected), "\(expected)")
                }
            }
        }
    }

    @Test("no syslog daemon: send throws ENOENT, log writes the line to stderr")
    func fallbackWithoutDaemon() throws {
        try withLockDirectory { directory in
            let missing = FilePath(directory + "/no-daemon.sock")
            let sender = SyslogSender(identity: "ipct-none", destination: .local(missing), fallback: .discard)
            #expect(throws: IPCError.self) { try sender.send(sender.message(.error, "lost")) }
            do throws(IPCError) {
                try sender.send(sender.message(.error, "lost"))
            } catch {
                #expect(error.errno == .noSuchFileOrDirectory)
            }
            let pipe = try Pipe()
            var spawn = TestPeer.spawn("syslog-fallback", missing.string)
            try spawn.inherit(pipe.writer.descriptor, as: 2)
            var child = try spawn.start()
            try pipe.writer.close()
            let output = String(decoding: try pipe.reader.readToEnd(), as: UTF8.self)
            #expect(try child.wait() == .exited(0))
            #expect(output == "ipct-fallback[\(child.pid)]: err: hello nobody [meta@32473 k=\"v\"]\n")
        }
    }

    @Test("the formats: RFC 5424 fields, nil fields as -, RFC 3164 header, PRI")
    func formats() {
        var message = SyslogMessage(facility: .local0, severity: .notice, appName: "app name", processID: 7, hostname: "host",
                                    structuredData: [.init(id: "x@1", parameters: [.init("a b", "c\\d")])], text: "text")
        message.time = (0, 5_000)
        #expect(message.priority == 133)
        #expect(message.rfc5424 == #"<133>1 1970-01-01T00:00:00.000005Z host app_name 7 - [x@1 a_b="c\\d"] text"#)
        message.processID = nil
        message.structuredData = []
        #expect(message.rfc5424 == "<133>1 1970-01-01T00:00:00.000005Z host app_name - - - text")
        #expect(message.rfc3164(withHostname: false).hasSuffix(" app_name: text"))
        #expect(message.rfc3164(withHostname: true).hasSuffix(" host app_name: text"))
        #expect(message.rfc3164(withHostname: true).hasPrefix("<133>"))
    }
}
