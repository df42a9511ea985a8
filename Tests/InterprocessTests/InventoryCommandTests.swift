import Foundation
@testable import Interprocess
import Testing

/// `ipc ls` and `ipc rm` (SPEC L2, V3), run as processes.
@Suite("ipc ls and ipc rm")
struct InventoryCommandTests {
    private func json(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON array: \(text)")
    }

    private func listed(_ arguments: [String]) throws -> [[String: Any]] {
        let run = try IPCTool.run(["ls", "--json"] + arguments, timeout: .seconds(60))
        try #require(run.status == .exited(0), "\(run.stderr)")
        return try json(run.stdout)
    }

    @Test("ipc ls prints one table with stable columns; a segment's row matches lsipc (L2)")
    func table() throws {
        let key = uniqueKey()
        let id = try InventoryFixtures.createSystemV(.sharedMemory, key: key, count: 4096, mode: "640")
        defer { removeIfPresent(.sharedMemory, id: id) }
        let attached = try PeerSession("inv-shm-attach", [String(id)])
        #expect(try attached.line() == "attached")
        defer { _ = try? attached.finish() }

        let run = try IPCTool.run(["ls", "--kind", "shm"], timeout: .seconds(60))
        #expect(run.status == .exited(0), "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        let header = try #require(lines.first).split(separator: " ")
        #expect(header == ["KIND", "KEY/NAME", "ID", "OWNER", "MODE", "SIZE/COUNT", "USERS", "CPID/PID", "CREATED/CHANGED"])
        let row = try #require(lines.first { $0.split(separator: " ").dropFirst(2).first == Substring(String(id)) }, "\(run.stdout)").split(separator: " ")
        let cpid = try #require(IPCInventory.snapshot(kinds: [.systemVSharedMemory]).entries.first { $0.id == id }?.creatorPID)
        #expect(Array(row.prefix(9)) == ["shm", Substring(key.description), Substring(String(id)), "root", "0640", "4096", "B", "1", Substring(String(cpid))])
        #expect(lines.allSatisfy { $0.hasPrefix("shm ") || $0.hasPrefix("KIND ") })

        guard let lsipc = InventoryFixtures.tool("lsipc") else {
            print("skipped the lsipc comparison: lsipc is not installed")
            return
        }
        let report = try InventoryFixtures.runTool(lsipc, ["-m", "--json", "--notruncate"])
        let segments = try #require(try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any])["sharedmemory"] as? [[String: Any]]
        let theirs = try #require(segments?.first { "\($0["id"] ?? "")" == String(id) }, "lsipc lists \(id)")
        #expect("\(theirs["key"] ?? "")" == key.description)
        #expect("\(theirs["owner"] ?? "")" == "root")
        #expect("\(theirs["nattch"] ?? "")" == "1" && "\(theirs["cpid"] ?? "")" == String(cpid))
    }

    @Test("ipc ls --json: one object per IPC object, every field, matching the kernel (L2)")
    func jsonOutput() throws {
        let queueKey = uniqueKey()
        let queue = try InventoryFixtures.createSystemV(.messageQueue, key: queueKey, mode: "640")
        defer { removeIfPresent(.messageQueue, id: queue) }
        let set = try InventoryFixtures.createSystemV(.semaphoreSet, key: .private, count: 5)
        defer { removeIfPresent(.semaphoreSet, id: set) }
        let objects = try listed(["--kind", "msg", "--kind", "sem"])
        let fields = ["kind", "key", "name", "id", "ownerUID", "owner", "groupGID", "creatorUID", "creatorGID", "mode", "bytes",
                      "count", "users", "creatorPID", "lastPID", "holderPID", "changed", "lastUsed", "markedForRemoval", "lock"]
        #expect(objects.allSatisfy { Set($0.keys) == Set(fields) })
        #expect(objects.allSatisfy { ["msg", "sem"].contains($0["kind"] as? String) })
        let q = try #require(objects.first { $0["kind"] as? String == "msg" && $0["id"] as? Int == Int(queue) })
        #expect(q["key"] as? String == queueKey.description && q["mode"] as? String == "0640" && q["ownerUID"] as? Int == 0)
        #expect(q["bytes"] as? Int == 0 && q["count"] as? Int == 0 && q["owner"] as? String == "root")
        let s = try #require(objects.first { $0["kind"] as? String == "sem" && $0["id"] as? Int == Int(set) })
        #expect(s["key"] as? String == "0x00000000" && s["count"] as? Int == 5 && s["mode"] as? String == "0600")
        let changed = try #require(s["changed"] as? Int)
        #expect(abs(changed - Int(time(nil))) < 600, "ctime is seconds since the epoch")
    }

    @Test("ipc ls shows a record lock with holder pid, range and path")
    func recordLock() throws {
        let path = "/tmp/" + uniqueName("inv-cli-lock")
        defer { unlink(path) }
        let holder = try PeerSession("inv-lock", [path, "posix", "0", "0"])
        #expect(try holder.line() == "locked")
        defer { _ = try? holder.finish() }
        let locks = try listed(["--kind", "lock"])
        let lock = try #require(locks.first { $0["holderPID"] as? Int == Int(holder.pid) })
        #expect(lock["name"] as? String == path)
        let details = try #require(lock["lock"] as? [String: Any])
        #expect(details["style"] as? String == "POSIX" && details["access"] as? String == "WRITE")
        #expect(details["start"] as? Int == 0 && details["end"] is NSNull)
    }

    @Test("--kind and --owner select; unknown kinds and users are errors (L2)")
    func filters() throws {
        let user = InventoryFixtures.randomUser()
        let semaphore = "/" + uniqueName("inv-cli-psem")
        defer { try? PosixSemaphore.unlink(semaphore) }
        #expect(try InventoryFixtures.peer("as-user", String(user), "inv-posix-create", "psem", semaphore).status == .exited(0))
        let queue = try InventoryFixtures.createSystemV(.messageQueue, key: .private, asUser: user)
        defer { removeIfPresent(.messageQueue, id: queue) }

        let semaphores = try listed(["--kind", "psem"])
        #expect(semaphores.allSatisfy { $0["kind"] as? String == "psem" })
        #expect(semaphores.contains { $0["name"] as? String == semaphore && $0["count"] as? Int == 3 && $0["ownerUID"] as? Int == Int(user) })
        let theirs = try listed(["--owner", String(user)])
        #expect(Set(theirs.map { "\($0["kind"]!) \($0["name"] as? String ?? "\($0["id"]!)")" }) == ["msg \(queue)", "psem \(semaphore)"])
        let roots = try listed(["--owner", "root", "--kind", "msg,psem"])
        #expect(!roots.contains { $0["id"] as? Int == Int(queue) || $0["name"] as? String == semaphore })
        #expect(roots.allSatisfy { $0["ownerUID"] as? Int == 0 })
        #expect(try IPCTool.run(["ls", "--kind", "bogus"]).status != .exited(0))
        #expect(try IPCTool.run(["ls", "--owner", "no-such-user-\(user)"]).status != .exited(0))
    }

    @Test("ipc rm removes System V objects by --key, --id, identifier and --path/--proj (V3)")
    func removeSystemV() throws {
        let key = uniqueKey()
        let byKey = try InventoryFixtures.createSystemV(.messageQueue, key: key)
        defer { removeIfPresent(.messageQueue, id: byKey) }
        let byID = try InventoryFixtures.createSystemV(.sharedMemory, key: .private, count: 4096)
        defer { removeIfPresent(.sharedMemory, id: byID) }
        let positional = try InventoryFixtures.createSystemV(.semaphoreSet, key: .private, count: 2)
        defer { removeIfPresent(.semaphoreSet, id: positional) }
        let file = "/tmp/" + uniqueName("inv-ftok")
        let fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)
        defer { unlink(file) }
        let ftokKey = try IPCKey(path: .init(file), projectID: 7)
        let byPath = try InventoryFixtures.createSystemV(.messageQueue, key: ftokKey)
        defer { removeIfPresent(.messageQueue, id: byPath) }

        for (arguments, kind, id) in [(["msg", "--key", key.description], SystemVKind.messageQueue, byKey),
                                      (["shm", "--id", String(byID)], .sharedMemory, byID),
                                      (["sem", String(positional)], .semaphoreSet, positional),
                                      (["msg", "--path", file, "--proj", "7"], .messageQueue, byPath)] {
            #expect(InventoryFixtures.procLine(kind, id: id) != nil)
            let run = try IPCTool.run(["rm"] + arguments)
            #expect(run.status == .exited(0), "ipc rm \(arguments): \(run.stderr)")
            #expect(InventoryFixtures.procLine(kind, id: id) == nil, "ipc rm \(arguments) removed it")
        }
    }

    @Test("ipc rm mq|pshm|psem NAME removes POSIX objects a peer made (L2)")
    func removePosix() throws {
        let queue = "/" + uniqueName("inv-cli-mq"), memory = "/" + uniqueName("inv-cli-pshm"), semaphore = "/" + uniqueName("inv-cli-psem")
        defer {
            try? PosixMessageQueue.unlink(queue)
            try? SharedMemory.unlink(memory)
            try? PosixSemaphore.unlink(semaphore)
        }
        for (kind, name) in [("mq", queue), ("pshm", memory), ("psem", semaphore)] {
            #expect(try InventoryFixtures.peer("inv-posix-create", kind, name).status == .exited(0))
            let run = try IPCTool.run(["rm", kind, name])
            #expect(run.status == .exited(0), "ipc rm \(kind) \(name): \(run.stderr)")
        }
        #expect { _ = try PosixMessageQueue.open(queue) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        #expect { _ = try SharedMemory.open(memory) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        #expect { _ = try PosixSemaphore.open(semaphore) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        let again = try IPCTool.run(["rm", "pshm", memory])
        #expect(again.status == .exited(1) && again.stderr.contains("ENOENT"))
    }

    @Test("ipc rm errors: a missing id, a missing key, a lock, another user's object (V3)")
    func removeErrors() throws {
        let gone = try InventoryFixtures.createSystemV(.messageQueue, key: .private)
        defer { removeIfPresent(.messageQueue, id: gone) }
        try SystemVKind.messageQueue.remove(id: gone)
        let missing = try IPCTool.run(["rm", "msg", "--id", String(gone)])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("EINVAL") && missing.stderr.contains("no msg object with identifier \(gone)"), "\(missing.stderr)")
        let noKey = try IPCTool.run(["rm", "msg", "--key", uniqueKey().description])
        #expect(noKey.status == .exited(1) && noKey.stderr.contains("no msg object with this key"), "\(noKey.stderr)")
        let lock = try IPCTool.run(["rm", "lock", "/tmp/x"])
        #expect(lock.status != .exited(0) && lock.stderr.contains("holder unlocks or exits"), "\(lock.stderr)")

        let roots = try InventoryFixtures.createSystemV(.messageQueue, key: .private, mode: "666")
        defer { removeIfPresent(.messageQueue, id: roots) }
        let denied = try InventoryFixtures.ipcAs(InventoryFixtures.randomUser(), ["rm", "msg", "--id", String(roots)])
        #expect(denied.status == .exited(1))
        #expect(denied.output.contains("EPERM") && denied.output.contains("only its owner, its creator or a privileged process"), "\(denied.output)")
        #expect(InventoryFixtures.procLine(.messageQueue, id: roots) != nil)
    }

    @Test("ipc rm --all-mine, run as an unprivileged user, removes exactly what that user created (L2, V3)")
    func removeAllMine() throws {
        let user = InventoryFixtures.randomUser(), other = user + 20000
        var made: [(SystemVKind, Int32)] = []
        defer { for (kind, id) in made { removeIfPresent(kind, id: id) } }
        func create(_ kind: SystemVKind, as uid: uid_t?, count: Int = 0) throws -> Int32 {
            let id = try InventoryFixtures.createSystemV(kind, key: kind == .messageQueue ? uniqueKey() : .private, count: count, asUser: uid)
            made.append((kind, id))
            return id
        }
        let mine = [(SystemVKind.messageQueue, try create(.messageQueue, as: user)),
                    (.semaphoreSet, try create(.semaphoreSet, as: user, count: 2)),
                    (.sharedMemory, try create(.sharedMemory, as: user, count: 4096))]
        // Created by the user, then given to root: still the user's creation.
        let givenAway = try create(.messageQueue, as: user)
        try SystemVKind.messageQueue.changePermissions(id: givenAway, uid: 0)
        // Created by root and given to the user: the user owns it but did not create it.
        let received = try create(.messageQueue, as: nil)
        try SystemVKind.messageQueue.changePermissions(id: received, uid: user)
        let othersQueue = try create(.messageQueue, as: other)
        let names = [("mq", "/" + uniqueName("inv-mine-mq")), ("pshm", "/" + uniqueName("inv-mine-pshm")), ("psem", "/" + uniqueName("inv-mine-psem"))]
        let othersMemory = "/" + uniqueName("inv-other-pshm")
        defer {
            for (kind, name) in names { try? IPCInventory.remove(IPCInventory.Kind(rawValue: kind)!, name: name) }
            try? SharedMemory.unlink(othersMemory)
        }
        for (kind, name) in names {
            #expect(try InventoryFixtures.peer("as-user", String(user), "inv-posix-create", kind, name).status == .exited(0))
        }
        #expect(try InventoryFixtures.peer("as-user", String(other), "inv-posix-create", "pshm", othersMemory).status == .exited(0))

        let run = try InventoryFixtures.ipcAs(user, ["rm", "--all-mine"])
        #expect(run.status == .exited(0), "\(run.output)")
        for (kind, id) in mine + [(.messageQueue, givenAway)] {
            #expect(InventoryFixtures.procLine(kind, id: id) == nil, "\(kind) \(id) removed")
            #expect(run.output.contains("removed \(IPCInventory.Kind(kind)) ") && run.output.contains("id \(id)\n"), "\(run.output)")
        }
        for id in [received, othersQueue] {
            #expect(InventoryFixtures.procLine(.messageQueue, id: id) != nil, "msg \(id) is not the user's creation and stays")
        }
        #expect(!InventoryFixtures.exists("/dev/shm" + names[1].1) && !InventoryFixtures.exists("/dev/shm/sem." + names[2].1.dropFirst()))
        #expect(run.output.contains("removed pshm \(names[1].1)") && run.output.contains("removed psem \(names[2].1)"))
        #expect(InventoryFixtures.exists("/dev/shm" + othersMemory))
        let queueGone = (try? PosixMessageQueue.open(names[0].1)) == nil
        if run.output.contains("mq objects not listed") {
            // An unprivileged user cannot list queues without a mounted mqueue filesystem.
            #expect(MessageQueueMount.mounted() == nil && !queueGone && run.output.contains("CAP_SYS_ADMIN"))
        } else {
            #expect(queueGone && run.output.contains("removed mq \(names[0].1)"))
        }
    }

    @Test("ipc ls as an unprivileged user names the kinds it could not list")
    func unprivilegedNote() throws {
        let run = try InventoryFixtures.ipcAs(InventoryFixtures.randomUser(), ["ls", "--kind", "mq,msg"])
        #expect(run.status == .exited(0), "\(run.output)")
        #expect(run.output.hasPrefix("KIND "))
        if MessageQueueMount.mounted() == nil {
            #expect(run.output.contains("mq objects not listed") && run.output.contains("CAP_SYS_ADMIN"), "\(run.output)")
        }
    }
}
