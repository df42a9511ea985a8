import Foundation
import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc door serve|call|info` (SPEC R1–R6) and doors in `ipc ls`, run as
/// processes the way a person runs them.
@Suite("ipc door")
struct DoorCommandTests {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    @Test("serve --echo: a call with --data, with stdin; SIGTERM closes the door and removes its path")
    func echo() throws {
        let path = TestObjects.socketPath().string
        defer { TestObjects.remove(.file(path)) }
        let server = try DoorServeProcess([path, "--echo", "--name", "echoer"])
        #expect(server.firstLine == "serving \(path) (pid \(server.pid))\n")
        var info = stat()
        #expect(lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK && (info.st_mode & 0o777) == 0o600)

        let data = try IPCTool.run(["door", "call", path, "--data", "ping"])
        #expect(data.status == .exited(0), "\(data.stderr)")
        #expect(data.stdout == "ping")
        #expect(data.stderr.isEmpty)

        let input: [UInt8] = Array("two\nlines\n".utf8) + [0, 255]
        let piped = try IPCTool.run(["door", "call", path], input: input)
        #expect(piped.status == .exited(0), "\(piped.stderr)")
        #expect(piped.stdout == input, "the bytes exactly")

        let stopped = try server.stop()
        #expect(stopped.status == .exited(0), "\(stopped.stderr)")
        #expect(stopped.stdout.isEmpty && stopped.stderr.isEmpty, "\(stopped.stdout)\(stopped.stderr)")
        #expect(!Self.exists(path), "the socket file is removed")
    }

    @Test("call --fd: the files travel with the call, the echo door returns them, each is named on stderr")
    func descriptors() throws {
        let path = TestObjects.socketPath().string
        defer { TestObjects.remove(.file(path)) }
        let file = TestObjects.temporaryPath("door-fd")
        defer { TestObjects.remove(.file(file)) }
        try #require(FileManager.default.createFile(atPath: file, contents: Data("secret".utf8)))
        let server = try DoorServeProcess([path, "--echo"])
        let passed = try IPCTool.run(["door", "call", path, "--data", "x", "--fd", file, "--fd", "/dev/null"])
        #expect(passed.status == .exited(0), "\(passed.stderr)")
        #expect(passed.stdout == "x")
        let lines = passed.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(passed.stderr)")
        #expect(lines.first?.hasSuffix(": \(file)") == true && lines.first?.hasPrefix("descriptor ") == true, "\(passed.stderr)")
        #expect(lines.last?.hasSuffix(": /dev/null") == true, "\(passed.stderr)")
        #expect(try server.stop().status == .exited(0))
        #expect(!Self.exists(path))
    }

    @Test("serve --exec: the command's stdout is the result; its failure is the call's, with its stderr")
    func exec() throws {
        let path = TestObjects.socketPath().string
        defer { TestObjects.remove(.file(path)) }
        let server = try DoorServeProcess([path, "--exec", "tr a-z A-Z", "--mode", "0660"])
        #expect(server.firstLine == "serving \(path) (pid \(server.pid))\n")
        var info = stat()
        #expect(lstat(path, &info) == 0 && (info.st_mode & 0o777) == 0o660)
        let upper = try IPCTool.run(["door", "call", path, "--data", "hello, door"])
        #expect(upper.status == .exited(0), "\(upper.stderr)")
        #expect(upper.stdout == "HELLO, DOOR")
        let piped = try IPCTool.run(["door", "call", path], input: Array("from stdin\n".utf8))
        #expect(String(decoding: piped.stdout, as: UTF8.self) == "FROM STDIN\n", "\(piped.stderr)")
        #expect(try server.stop().status == .exited(0))
        #expect(!Self.exists(path))

        let failing = try DoorServeProcess([path, "--exec", "echo 'no such record' >&2; exit 3", "--replace-stale"])
        let failed = try IPCTool.run(["door", "call", path, "--data", "x"])
        #expect(failed.status == .exited(1))
        #expect(failed.stdout.isEmpty)
        #expect(failed.stderr.hasPrefix("ipc: door procedure("), "\(failed.stderr)")
        #expect(failed.stderr.contains("(EREMOTEIO): no such record\n"), "\(failed.stderr)")
        #expect(failed.stderr.split(separator: "\n").count == 1, "one line: \(failed.stderr)")
        #expect(try failing.stop().status == .exited(0))
        #expect(!Self.exists(path))
    }

    @Test("info: the server's pid, procedure, path, attributes, clients and calls; --json the same")
    func info() throws {
        let path = TestObjects.socketPath().string
        defer { TestObjects.remove(.file(path)) }
        let server = try DoorServeProcess([path, "--echo"])
        #expect(try IPCTool.run(["door", "call", path, "--data", "1"]).status == .exited(0))
        #expect(try IPCTool.run(["door", "call", path, "--data", "2"]).status == .exited(0))
        // The server counts a call once its result is sent: the caller may have it first.
        #expect(eventually { (try? Door.info(at: FilePath(path)))?.callsServed == 2 })

        let text = try IPCTool.run(["door", "info", path])
        #expect(text.status == .exited(0), "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("pid: \(server.pid)"), "\(text.stdout)")
        #expect(lines.contains("procedure: echo"))
        #expect(lines.contains("path: \(path)"))
        #expect(lines.contains("revoked: no"))
        #expect(lines.contains("attributes: none"))
        #expect(lines.contains("calls: 2"))
        #expect(lines.contains { $0.hasPrefix("clients: ") })
        #expect(lines.contains { $0.hasPrefix("id: ") })

        let json = try IPCTool.run(["door", "info", path, "--json"])
        #expect(json.status == .exited(0), "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["pid", "procedure", "id", "cookie", "path", "revoked", "attributes", "maximumMessageSize",
                                     "clients", "maximumClients", "calls"])
        #expect(object["pid"] as? Int == Int(server.pid))
        #expect(object["procedure"] as? String == "echo" && object["path"] as? String == path)
        #expect(object["revoked"] as? Bool == false && object["calls"] as? Int == 2)
        #expect(object["maximumMessageSize"] as? Int == 65536)
        #expect(try server.stop().status == .exited(0))
    }

    @Test("a missing door: one line and status 1, no backtrace; --timeout passed: status 2; bad options: 64")
    func failures() throws {
        let missing = TestObjects.socketPath().string
        for arguments in [["door", "call", missing, "--data", "x"], ["door", "info", missing]] {
            let run = try IPCTool.run(arguments)
            #expect(run.status == .exited(1), "\(arguments)")
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.hasPrefix("ipc: ") && run.stderr.contains("(ENOENT)"), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        }
        let missingFile = try IPCTool.run(["door", "call", missing, "--data", "x", "--fd", missing + "-no-such-file"])
        #expect(missingFile.status == .exited(1))
        #expect(missingFile.stderr.contains("open(") && missingFile.stderr.contains("(ENOENT)"), "\(missingFile.stderr)")

        let path = TestObjects.socketPath().string
        defer { TestObjects.remove(.file(path)) }
        let slow = try DoorServeProcess([path, "--exec", "exec sleep 600"])
        let timedOut = try IPCTool.run(["door", "call", path, "--data", "x", "--timeout", "0.3"])
        #expect(timedOut.status == .exited(2), "\(timedOut.stderr)")
        #expect(timedOut.stderr.contains("(ETIMEDOUT)"), "\(timedOut.stderr)")
        let taken = try IPCTool.run(["door", "serve", path, "--echo"])
        #expect(taken.status == .exited(1))
        #expect(taken.stderr.contains("(EADDRINUSE)"), "\(taken.stderr)")
        // The server ends once its running call has: end the command (the shell exec'd sleep, its child).
        #expect(eventually { !IPCToolProcess.children(of: slow.pid).isEmpty })
        for child in IPCToolProcess.children(of: slow.pid) { kill(child, SIGKILL) }
        #expect(try slow.stop().status == .exited(0))

        #expect(try IPCTool.run(["door", "serve", path]).status == .exited(64), "neither --echo nor --exec")
        #expect(try IPCTool.run(["door", "serve", path, "--echo", "--exec", "cat"]).status == .exited(64))
        #expect(try IPCTool.run(["door", "serve", path, "--echo", "--mode", "800"]).status == .exited(64))
        #expect(try IPCTool.run(["door", "call", path, "--timeout", "soon"]).status == .exited(64))
        let remove = try IPCTool.run(["rm", "door", path])
        #expect(remove.status == .exited(64))
        #expect(remove.stderr.contains("doors cannot be removed"), "\(remove.stderr)")
        #expect(!Self.exists(path))
    }

    @Test("ipc ls --kind door lists a served door: path, server pid, procedure, clients, calls; --json too")
    func listed() throws {
        let path = TestObjects.socketPath().string
        defer { TestObjects.remove(.file(path)) }
        let server = try DoorServeProcess([path, "--echo", "--name", "lister"])
        #expect(try IPCTool.run(["door", "call", path, "--data", "1"]).status == .exited(0))
        // The caller has ended: its session ends and its call is counted, soon.
        #expect(eventually {
            IPCInventory.snapshot(kinds: [.door]).entries.contains { $0.door?.serverPid == server.pid && $0.door?.clients == 0 && $0.door?.callsServed == 1 }
        })

        let table = try IPCTool.run(["ls", "--kind", "door", "--output", "kind,name,pid,users,size"])
        #expect(table.status == .exited(0), "\(table.stderr)")
        let row = table.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
            .first { $0.contains(path) }
        #expect(row == "door \(path) \(server.pid) 0 lister: 1 call", "\(table.stdout)")

        let json = try IPCTool.run(["ls", "--kind", "door", "--json"])
        #expect(json.status == .exited(0), "\(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let objects = try #require(document["objects"] as? [[String: Any]])
        let mine = try #require(objects.first { $0["name"] as? String == path }, "\(json.stdout)")
        #expect(mine["kind"] as? String == "door" && mine["creatorPID"] as? Int == Int(server.pid) && mine["mode"] as? String == "0600")
        let door = try #require(mine["door"] as? [String: Any])
        #expect(door["pid"] as? Int == Int(server.pid) && door["procedure"] as? String == "lister")
        #expect(door["clients"] as? Int == 0 && door["calls"] as? Int == 1 && door["revoked"] as? Bool == false)

        #expect(try server.stop().status == .exited(0))
        let after = try IPCTool.run(["ls", "--kind", "door"])
        #expect(!after.stdout.contains(path), "gone with its server: \(after.stdout)")
    }
}

/// `ipc door serve ARGUMENTS…` running in the background, once it printed that
/// it serves; `stop()` ends it with SIGTERM.
final class DoorServeProcess {
    private var child: ChildProcess
    private let out: PipeReader
    private let err: PipeReader
    private(set) var firstLine = ""
    var pid: pid_t { child.pid }

    init(_ arguments: [String]) throws {
        let out = try Interprocess.Pipe(), err = try Interprocess.Pipe()
        var spawn = Spawn(IPCTool.path, arguments: ["door", "serve"] + arguments)
        try spawn.inherit(out.writer.descriptor, as: 1)
        try spawn.inherit(err.writer.descriptor, as: 2)
        child = try spawn.start()
        try out.writer.close()
        try err.writer.close()
        self.out = out.reader
        self.err = err.reader
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.last != UInt8(ascii: "\n") {
            let n = try withUnsafeMutableBytes(of: &byte) { buffer in try self.out.read(into: buffer, timeout: .seconds(60)) }
            if n == 0 { break }
            line.append(byte)
        }
        firstLine = String(decoding: line, as: UTF8.self)
    }

    /// SIGTERM, then its status, the rest of its stdout and its stderr.
    func stop() throws -> (status: ChildStatus, stdout: String, stderr: String) {
        try child.signal(SIGTERM)
        let status = try child.wait(timeout: .seconds(60))
        return (status, String(decoding: try out.readToEnd(), as: UTF8.self), String(decoding: try err.readToEnd(), as: UTF8.self))
    }

    deinit {
        if child.terminationStatus == nil {
            try? child.signal(SIGKILL)
            _ = try? child.wait()
        }
    }
}
