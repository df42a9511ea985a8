@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How many descriptors process `pid` has open on the file at `path` (read from
/// /proc/PID/fd), to show which process still keeps an open file alive.
private func descriptors(of pid: pid_t, on path: String) -> Int {
    guard let dir = opendir("/proc/\(pid)/fd") else { return 0 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard Int(name) != nil else { continue }
        var target = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/fd/\(name)", &target, target.count - 1)
        if n > 0, String(decoding: target.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) == path { count += 1 }
    }
    return count
}

/// What exec, fork and an inherited descriptor do to each flavour, between real
/// processes (SPEC Y8, L3; Locks/README.md, the table).
@Suite("Record locks across exec, fork and Spawn (Y8, L3)")
struct RecordLockLifetimeTests {
    @Test("exec releases the lock: the library's descriptor is close-on-exec, so the exec'ed process holds nothing while it lives",
          arguments: ["posix", "ofd", "flock"])
    func execReleases(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let peer = try PeerSession("reclock-exec", [kind, path])
            #expect(try peer.line() == "locked \(peer.pid)")
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "busy", "held before the exec")
            try peer.send("go")
            #expect(try peer.line() == "exec")
            // cat echoes only once it runs: the exec is done, the process lives on.
            try peer.send("ping")
            #expect(try peer.line() == "ping")
            #expect(procFileText("/proc/\(peer.pid)/comm") == "cat\n")
            #expect(descriptors(of: peer.pid, on: path) == 0, "exec closed the lock's descriptor")
            #expect(locksOnFile(path).isEmpty, "no lock is left on the file")
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "acquired", "another process takes it while the exec'ed one runs")
            #expect(try peer.finish() == .exited(0))
        }
    }

    @Test("fork: the child holds none of the parent's POSIX locks; OFD and flock locks are shared with it and outlive the parent's descriptor",
          arguments: ["posix", "ofd", "flock"])
    func fork(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let peer = try PeerSession("reclock-fork", [kind, path])
            let forked = try peer.line().split(separator: " ")
            try #require(forked.count == 3 && forked[0] == "forked", "\(forked)")
            let child = try #require(pid_t(forked[1]))
            #expect(descriptors(of: child, on: path) == 1, "the child has the inherited descriptor")
            if kind == "posix" {
                #expect(forked[2] == "busy", "the child's own F_SETLK conflicts with the parent's lock: it holds none")
                #expect(try peerLine("reclock-query", ["posix", path, "exclusive"]) == "conflict pid \(peer.pid)", "F_GETLK names the parent")
                #expect(!locksOnFile(path).contains { $0.holderPID == child })
            } else {
                #expect(forked[2] == "acquired", "through the shared open file the child's attempt meets the same lock")
                if kind == "ofd" { #expect(try peerLine("reclock-query", ["ofd", path, "exclusive"]) == "conflict ofd") }
            }
            try peer.send("drop")
            #expect(try peer.line() == "dropped")
            #expect(descriptors(of: peer.pid, on: path) == 0 && descriptors(of: child, on: path) == 1)
            // Only the child's inherited descriptor is left open.
            let expected = kind == "posix" ? "acquired" : "busy"
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == expected,
                    kind == "posix" ? "the parent's lock went with its descriptor" : "the child's descriptor keeps the lock")
            try peer.send("release")
            #expect(try peer.line() == "child exited 0")
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "acquired", "the last descriptor closed")
            #expect(try peer.finish() == .exited(0))
        }
    }

    @Test("A spawned child handed the descriptor shares an OFD or flock lock: it keeps it after the parent drops its own",
          arguments: ["ofd", "flock"])
    func sharedWithSpawnedChild(kind: String) throws {
        try withLockDirectory { directory in
            let path = directory + "/file"
            let child: PeerSession
            if kind == "ofd" {
                let lock = try OpenFileLock(path: FilePath(path))
                try lock.lock(.exclusive)
                child = try PeerSession("reclock-hold", ["ofd", "fd:3", "exclusive"], handing: lock.descriptor)
            } else {
                let lock = try WholeFileLock(path: FilePath(path))
                try lock.lock(.exclusive)
                child = try PeerSession("reclock-hold", ["flock", "fd:3", "exclusive"], handing: lock.descriptor)
            }
            // The child's lock call on the inherited descriptor returns at once: the same lock.
            #expect(try child.line() == "locked \(child.pid)")
            #expect(descriptors(of: getpid(), on: path) == 0, "the parent dropped its lock and descriptor")
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "busy", "the child holds the open file, and the lock")
            #expect(try child.finish() == .exited(0))
            #expect(try peerLine("reclock-try", [kind, path, "exclusive"]) == "acquired")
        }
    }
}
