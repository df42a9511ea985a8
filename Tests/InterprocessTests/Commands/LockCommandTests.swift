@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ipc lock (Y8)")
struct LockCommandTests {
    @Test("Runs the command holding the lock and passes its exit status through")
    func passesTheStatusThrough() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            #expect(try IPCTool.run(["lock", path, "--", "sh", "-c", "exit 7"]).status == .exited(7))
            let inside = try IPCTool.run(["lock", "--kind", "posix", path, "--", TestPeer.path, "reclock-query", "posix", path, "exclusive"])
            #expect(inside.status == .exited(0))
            #expect(inside.stdout.hasPrefix("conflict pid "), "the command sees the lock ipc holds: \(inside.stdout)")
            let killed = try IPCTool.run(["lock", path, "--", "sh", "-c", "kill -9 $$"])
            #expect(killed.status == .exited(128 + SIGKILL))
        }
    }

    @Test("Held elsewhere: --nowait and --timeout exit with status 2 naming the holder", arguments: ["posix", "ofd", "flock"])
    func namesTheHolder(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", [kind, path, "exclusive"])
            #expect(try holder.line() == "locked \(holder.pid)")
            let busy = try IPCTool.run(["lock", "--kind", kind, "--nowait", path, "--", "true"])
            #expect(busy.status == .exited(2))
            let who = kind == "ofd" ? "an open file description (no pid)" : "process \(holder.pid)"
            #expect(busy.stderr.contains("is locked by \(who)"), "\(busy.stderr)")
            let timed = try IPCTool.run(["lock", "--kind", kind, "--shared", "--timeout", "0.1", path, "--", "true"])
            #expect(timed.status == .exited(2))
            #expect(try holder.finish() == .exited(0))
            #expect(try IPCTool.run(["lock", "--kind", kind, "--nowait", path, "--", "true"]).status == .exited(0))
        }
    }

    @Test("Ranges: a POSIX range elsewhere does not stop another range")
    func ranges() throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let holder = try PeerSession("reclock-hold", ["posix", path, "exclusive", "0", "10"])
            #expect(try holder.line() == "locked \(holder.pid)")
            #expect(try IPCTool.run(["lock", "--kind", "posix", "--range", "10:5", "--nowait", path, "--", "true"]).status == .exited(0))
            #expect(try IPCTool.run(["lock", "--kind", "posix", "--range", "5:10", "--nowait", path, "--", "true"]).status == .exited(2))
            #expect(try holder.finish() == .exited(0))
        }
    }

    @Test("Usage errors: no command, a range with flock, a malformed range", arguments: [
        ["lock", "/tmp/x"],
        ["lock", "--range", "0:1", "/tmp/x", "--", "true"],
        ["lock", "--kind", "posix", "--range", "a:1", "/tmp/x", "--", "true"],
    ])
    func usage(arguments: [String]) throws {
        let run = try IPCTool.run(arguments)
        #expect(run.status == .exited(64))
        #expect(run.stderr.contains("Usage: ipc lock"))
    }
}
