import Foundation
@testable import Interprocess
import Testing

/// `ipc ls` and `ipc rm` (SPEC L2, V3), run as processes.
@Suite("ipc ls and ipc rm")
struct InventoryCommandTests {
    /// The whole `ipc ls --json` document: {"objects": [...], "skipped": [...], "unavailable": [...]}.
    private func document(_ text: String) throws -> [String: Any] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
        #expect(Set(document.keys) == ["objects", "skipped", "unavailable"])
        return document
    }

    private func json(_ text: String) throws -> [[String: Any]] {
        try #require(try document(text)["objects"] as? [[String: Any]], "no objects array: \(text)")
    }

    private func listed(_ arguments: [String]) throws -> [[String: Any]] {
        let run = try IPCTool.run(["ls", "--json"] + arguments, timeout: .seconds(60))
        try #require(run.status == .exited(0), "\(run.stderr)")
        return try json(run.stdout)
    }

    @Test("ipc ls prints one table with stable columns; a segment's row matches lsipc (L2)")
    func table() throws {
        let key = TestObjects.systemVKey()
        let id = try InventoryFixtures.createSystemV(.sharedMemory, key: key, count: 4096, mode: "640")
        defer { TestObjects.remove(.systemV(.sharedMemory, id: id)) }
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
        #expect(Array(row.prefix(8)) == ["shm", Substring(key.description), Substring(String(id)), "root", "0640", "4K", "1", Substring(String(cpid))])
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
        let queueKey = TestObjects.systemVKey()
        let queue = try InventoryFixtures.createSystemV(.messageQueue, key: queueKey, mode: "640")
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue)) }
        let set = try InventoryFixtures.createSystemV(.semaphoreSet, key: .private, count: 5)
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set)) }
        let objects = try listed(["--kind", "msg", "--kind", "sem"])
        let fields = ["kind", "key", "name", "nameHex", "id", "ownerUID", "owner", "groupGID", "creatorUID", "creatorGID", "mode", "bytes",
                      "count", "users", "creatorPID", "lastPID", "holderPID", "changed", "lastUsed", "markedForRemoval", "malformed", "lock", "placed", "channel", "door"]
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
        let path = TestObjects.temporaryPath("inv-cli-lock")
        defer { TestObjects.remove(.file(path)) }
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

    @Test("ipc ls shows a process blocked in F_SETLKW as a waiting request with its pid (L2, Y8)")
    func waitingRecordLock() throws {
        let path = TestObjects.temporaryPath("inv-cli-wait")
        defer { TestObjects.remove(.file(path)) }
        let holder = try PeerSession("reclock-hold", ["posix", path, "exclusive"])
        #expect(try holder.line() == "locked \(holder.pid)")
        let waiter = try PeerSession("reclock-hold", ["posix", path, "exclusive"])
        // A poll of state: the kernel lists the blocked request as a `->` line of /proc/locks.
        #expect(eventually { locksOnFile(path).contains { $0.isWaitingRequest(of: waiter.pid) } }, "the waiter blocks in F_SETLKW")

        let locks = try listed(["--kind", "lock"]).filter { $0["name"] as? String == path }
        let waiting = try #require(locks.first { $0["holderPID"] as? Int == Int(waiter.pid) }, "\(locks)")
        let request = try #require(waiting["lock"] as? [String: Any])
        #expect(request["waiting"] as? Bool == true && request["style"] as? String == "POSIX" && request["access"] as? String == "WRITE")
        let held = try #require(locks.first { $0["holderPID"] as? Int == Int(holder.pid) }, "\(locks)")
        #expect((held["lock"] as? [String: Any])?["waiting"] as? Bool == false)

        let table = try IPCTool.run(["ls", "--kind", "lock", "--noheadings"], timeout: .seconds(60))
        #expect(table.status == .exited(0), "\(table.stderr)")
        let rows = table.stdout.split(separator: "\n").filter { $0.contains(path) }
        #expect(rows.contains { $0.contains("(waiting)") && $0.split(separator: " ").contains(Substring(String(waiter.pid))) }, "\(rows)")
        #expect(rows.contains { !$0.contains("(waiting)") && $0.split(separator: " ").contains(Substring(String(holder.pid))) }, "\(rows)")

        try holder.send("unlock")
        #expect(try holder.line() == "unlocked")
        #expect(try waiter.line() == "locked \(waiter.pid)", "granted once the holder unlocked")
        #expect(try waiter.finish() == .exited(0))
        #expect(try holder.finish() == .exited(0))
    }

    @Test("--kind and --owner select; unknown kinds and users are errors (L2)")
    func filters() throws {
        let user = InventoryFixtures.randomUser()
        let semaphore = TestObjects.posixName("inv-cli-psem")
        defer { TestObjects.remove(.semaphore(semaphore)) }
        #expect(try InventoryFixtures.peer("as-user", String(user), "inv-posix-create", "psem", semaphore).status == .exited(0))
        let queue = try InventoryFixtures.createSystemV(.messageQueue, key: .private, asUser: user)
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue)) }

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
        let key = TestObjects.systemVKey()
        let byKey = try InventoryFixtures.createSystemV(.messageQueue, key: key)
        defer { TestObjects.remove(.systemV(.messageQueue, id: byKey)) }
        let byID = try InventoryFixtures.createSystemV(.sharedMemory, key: .private, count: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: byID)) }
        let positional = try InventoryFixtures.createSystemV(.semaphoreSet, key: .private, count: 2)
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: positional)) }
        let file = TestObjects.temporaryPath("inv-ftok")
        let fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)
        defer { TestObjects.remove(.file(file)) }
        let ftokKey = try IPCKey(path: .init(file), projectID: 7)
        let byPath = try InventoryFixtures.createSystemV(.messageQueue, key: ftokKey)
        defer { TestObjects.remove(.systemV(.messageQueue, id: byPath)) }

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
        let queue = TestObjects.posixName("inv-cli-mq"), memory = TestObjects.posixName("inv-cli-pshm"), semaphore = TestObjects.posixName("inv-cli-psem")
        defer {
            TestObjects.remove(.queue(queue))
            TestObjects.remove(.sharedMemory(memory))
            TestObjects.remove(.semaphore(semaphore))
        }
        for (kind, name) in [("mq", queue), ("pshm", memory), ("psem", semaphore)] {
            #expect(try InventoryFixtures.peer("inv-posix-create", kind, name).status == .exited(0))
            let run = try IPCTool.run(["rm", kind, name])
            #expect(run.status == .exited(0), "ipc rm \(kind) \(name): \(run.stderr)")
        }
        #expect { _ = try PosixMessageQueue.open(queue) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        #expect { _ = try PosixSharedMemory.open(memory) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        #expect { _ = try PosixSemaphore.open(semaphore) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        let again = try IPCTool.run(["rm", "pshm", memory])
        #expect(again.status == .exited(1) && again.stderr.contains("ENOENT"))
    }

    @Test("ipc rm errors: a missing id, a missing key, a lock, another user's object (V3)")
    func removeErrors() throws {
        let gone = try InventoryFixtures.createSystemV(.messageQueue, key: .private)
        defer { TestObjects.remove(.systemV(.messageQueue, id: gone)) }
        try SystemVKind.messageQueue.remove(id: gone)
        let missing = try IPCTool.run(["rm", "msg", "--id", String(gone)])
        #expect(missing.status == .exited(1))
        #expect(missing.stderr.contains("EINVAL") && missing.stderr.contains("no msg object with identifier \(gone)"), "\(missing.stderr)")
        let noKey = try IPCTool.run(["rm", "msg", "--key", TestObjects.systemVKey().description])
        #expect(noKey.status == .exited(1) && noKey.stderr.contains("no msg object with this key"), "\(noKey.stderr)")
        // Not removable at all: a usage error (64), whatever is named.
        for arguments in [["rm", "lock", "/tmp/x"], ["rm", "lock"]] {
            let lock = try IPCTool.run(arguments)
            #expect(lock.status == .exited(64) && lock.stderr.contains("holder unlocks or exits"), "\(lock.stderr)")
        }

        let roots = try InventoryFixtures.createSystemV(.messageQueue, key: .private, mode: "666")
        defer { TestObjects.remove(.systemV(.messageQueue, id: roots)) }
        let denied = try InventoryFixtures.ipcAs(InventoryFixtures.randomUser(), ["rm", "msg", "--id", String(roots)])
        #expect(denied.status == .exited(1))
        #expect(denied.output.contains("EPERM") && denied.output.contains("only its owner, its creator or a privileged process"), "\(denied.output)")
        #expect(InventoryFixtures.procLine(.messageQueue, id: roots) != nil)
    }

    @Test("ipc rm --all-mine, run as an unprivileged user, removes exactly what that user created (L2, V3)")
    func removeAllMine() throws {
        let user = InventoryFixtures.randomUser(), other = user + 20000
        var made: [(SystemVKind, Int32)] = []
        defer { for (kind, id) in made { TestObjects.remove(.systemV(kind, id: id)) } }
        func create(_ kind: SystemVKind, as uid: uid_t?, count: Int = 0) throws -> Int32 {
            let id = try InventoryFixtures.createSystemV(kind, key: kind == .messageQueue ? TestObjects.systemVKey() : .private, count: count, asUser: uid)
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
        let names = [("mq", TestObjects.posixName("inv-mine-mq")), ("pshm", TestObjects.posixName("inv-mine-pshm")), ("psem", TestObjects.posixName("inv-mine-psem"))]
        let othersMemory = TestObjects.posixName("inv-other-pshm")
        defer {
            for (kind, name) in names { try? IPCInventory.remove(IPCInventory.Kind(rawValue: kind)!, name: PosixIPCName(name)) }
            TestObjects.remove(.sharedMemory(othersMemory))
        }
        for (kind, name) in names {
            #expect(try InventoryFixtures.peer("as-user", String(user), "inv-posix-create", kind, name).status == .exited(0))
        }
        #expect(try InventoryFixtures.peer("as-user", String(other), "inv-posix-create", "pshm", othersMemory).status == .exited(0))
        // Objects other programs made with names that are not UTF-8 (item 9).
        let tag = TestObjects.name("inv-mine-bytes")
        let oddMemory = Array(tag.utf8) + [0xff, 0xfe], oddSemaphore = Array("sem.\(tag)".utf8) + [0xc3, 0x0a]
        try InventoryFixtures.makeShmFile(oddMemory, contents: [1, 2, 3], owner: user)
        try InventoryFixtures.makeShmFile(oddSemaphore, contents: InventoryFixtures.semaphoreBytes(value: 1), owner: user)
        defer {
            TestObjects.remove(.devShmFile(oddMemory))
            TestObjects.remove(.devShmFile(oddSemaphore))
        }

        let run = try InventoryFixtures.ipcAs(user, ["rm", "--all-mine"])
        let queuesListed = !run.output.contains("mq objects not listed")
        #expect(run.status == .exited(queuesListed ? 0 : 1), "an incomplete removal is not a success: \(run.output)")
        for file in [oddMemory, oddSemaphore] {
            #expect(access(InventoryFixtures.shmPath(file), F_OK) != 0, "/dev/shm/\(EscapedText.render(file)) removed: \(run.output)")
        }
        #expect(run.output.contains("removed pshm /\(tag)\\xff\\xfe\n") && run.output.contains("removed psem /\(tag)\\xc3\\x0a\n"), "\(run.output)")
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
        if !queuesListed {
            // An unprivileged user cannot list queues without a mounted mqueue filesystem.
            #expect(MessageQueueMount.mounted() == nil && !queueGone && run.output.contains("CAP_SYS_ADMIN"))
        } else {
            #expect(queueGone && run.output.contains("removed mq \(names[0].1)"))
        }
    }

    @Test("ipc ls as an unprivileged user names the kinds it could not list and fails: the list is incomplete (13)")
    func unprivilegedNote() throws {
        let user = InventoryFixtures.randomUser()
        let run = try InventoryFixtures.ipcAs(user, ["ls", "--kind", "mq,msg"])
        #expect(run.output.hasPrefix("KIND "))
        if MessageQueueMount.mounted() == nil {
            #expect(run.status == .exited(1), "\(run.output)")
            #expect(run.output.contains("mq objects not listed, the list is incomplete") && run.output.contains("CAP_SYS_ADMIN"), "\(run.output)")
            let json = try InventoryFixtures.ipcAs(user, ["ls", "--kind", "mq", "--json"])
            #expect(json.status == .exited(1))
            #expect(json.output.contains("\"unavailable\": [\n  {\n   \"kind\": \"mq\""), "\(json.output)")
        } else {
            #expect(run.status == .exited(0), "\(run.output)")
        }
        // What could be listed completely is a success.
        #expect(try InventoryFixtures.ipcAs(user, ["ls", "--kind", "msg,shm,sem,pshm,psem"]).status == .exited(0))
    }

    @Test("Names with a newline or bytes that are not UTF-8: one escaped table row each, exact JSON, removable as printed (9, 10)")
    func namesAreBytes() throws {
        let tag = TestObjects.name("inv-bytes")
        let newline = Array("\(tag)-a".utf8) + [0x0a] + Array("b".utf8), odd = Array("\(tag)-".utf8) + [0xff, 0x5c]
        let semaphore = Array("sem.\(tag)-".utf8) + [0x09, 0xfe]
        for file in [newline, odd] { try InventoryFixtures.makeShmFile(file, contents: [1, 2, 3]) }
        try InventoryFixtures.makeShmFile(semaphore, contents: InventoryFixtures.semaphoreBytes(value: 7))
        defer { for file in [newline, odd, semaphore] { TestObjects.remove(.devShmFile(file)) } }
        // A queue another program named with bytes that are not UTF-8 and a newline.
        let queue = PosixIPCName(bytes: Array("/\(tag)-q".utf8) + [0xff, 0x0a])
        #expect(try InventoryFixtures.peer("inv-posix-create", "mq", queue.description).status == .exited(0))
        defer { TestObjects.remove(.queue(queue)) }

        let table = try IPCTool.run(["ls", "--kind", "pshm,psem,mq"], timeout: .seconds(60))
        #expect(table.status == .exited(0), "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.hasPrefix("KIND ") || $0.hasPrefix("pshm ") || $0.hasPrefix("psem ") || $0.hasPrefix("mq ") }, "a name split a row: \(table.stdout)")
        #expect(lines.contains { $0.hasPrefix("mq ") && $0.contains(" /\(tag)-q\\xff\\x0a ") && $0.contains(" 1 msg ") }, "\(table.stdout)")
        #expect(lines.contains { $0.hasPrefix("pshm ") && $0.contains(" /\(tag)-a\\x0ab ") })
        #expect(lines.contains { $0.hasPrefix("pshm ") && $0.contains(" /\(tag)-\\xff\\\\ ") }, "\\xff, and a backslash doubled")
        #expect(lines.contains { $0.hasPrefix("psem ") && $0.contains(" /\(tag)-\\x09\\xfe ") && $0.contains("value 7") })

        let objects = try listed(["--kind", "pshm,psem"])
        func object(_ bytes: [UInt8]) -> [String: Any]? {
            objects.first { ($0["nameHex"] as? String) == bytes.map { String(format: "%02x", $0) }.joined() }
        }
        let exact = try #require(object([0x2f] + newline), "nameHex is the exact name")
        #expect(exact["name"] as? String == "/\(tag)-a\nb", "a UTF-8 name is exact in JSON")
        #expect(try #require(object([0x2f] + odd))["name"] as? String == "/\(tag)-\\xff\\\\", "otherwise escaped as in the table")
        #expect(try #require(object([0x2f] + Array(semaphore.dropFirst(4))))["count"] as? Int == 7)

        // What ipc ls printed is what ipc rm takes.
        let removed = try IPCTool.run(["rm", "pshm", "/\(tag)-a\\x0ab", "/\(tag)-\\xff\\\\"])
        #expect(removed.status == .exited(0), "\(removed.stderr)")
        #expect(removed.stdout == "removed pshm /\(tag)-a\\x0ab\nremoved pshm /\(tag)-\\xff\\\\\n")
        #expect(try IPCTool.run(["rm", "psem", "/\(tag)-\\x09\\xfe"]).status == .exited(0))
        let queueRemoved = try IPCTool.run(["rm", "mq", "/\(tag)-q\\xff\\x0a"])
        #expect(queueRemoved.status == .exited(0) && queueRemoved.stdout == "removed mq /\(tag)-q\\xff\\x0a\n", "\(queueRemoved.stderr)")
        #expect { _ = try PosixMessageQueue.open(queue) } throws: { ($0 as? IPCError)?.errno == .noSuchFileOrDirectory }
        for file in [newline, odd, semaphore] { #expect(access(InventoryFixtures.shmPath(file), F_OK) != 0) }
    }

    @Test("ipc ls changes no object's times: queue and semaphore files keep their access and change times (11)")
    func listingChangesNothing() throws {
        let queue = TestObjects.posixName("inv-times-mq"), semaphore = TestObjects.posixName("inv-times-psem")
        defer {
            TestObjects.remove(.queue(queue))
            TestObjects.remove(.semaphore(semaphore))
        }
        for (kind, name) in [("mq", queue), ("psem", semaphore)] {
            #expect(try InventoryFixtures.peer("inv-posix-create", kind, name).status == .exited(0))
        }
        // The access time at the Epoch: any read of the file would move it to now.
        let semaphoreFile = InventoryFixtures.shmPath(Array("sem.\(semaphore.dropFirst())".utf8))
        try #require(InventoryFixtures.clearAccessTime(semaphoreFile))
        let queueFile = String(queue.dropFirst())
        @Sendable func queueTimes(clearing: Bool) throws -> (access: Int, change: Int)? {
            try MessageQueueMount.withQueueDirectory { (directory) throws(IPCError) in
                let path = Array((directory + "/" + queueFile).utf8CString)
                if clearing && !InventoryFixtures.clearAccessTime(path) { return nil }
                return InventoryFixtures.accessAndChangeTime(path)
            }
        }
        let queueBefore = try #require(try queueTimes(clearing: true))
        let semaphoreBefore = try #require(InventoryFixtures.accessAndChangeTime(semaphoreFile))
        #expect(queueBefore.access == 0 && semaphoreBefore.access == 0)

        for arguments in [["ls", "--kind", "mq,psem"], ["ls", "--kind", "mq,psem", "--json"], ["ls"]] {
            let run = try IPCTool.run(arguments, timeout: .seconds(60))
            #expect(run.status == .exited(0), "\(arguments): \(run.stderr)")
        }
        let queueAfter = try #require(try queueTimes(clearing: false))
        let semaphoreAfter = try #require(InventoryFixtures.accessAndChangeTime(semaphoreFile))
        #expect(queueAfter == queueBefore, "the queue's file was read: its times moved")
        #expect(semaphoreAfter == semaphoreBefore, "the semaphore's file was read without O_NOATIME")
        // And what ipc ls reports is the kernel's count, from mq_getattr.
        let listed = try listed(["--kind", "mq,psem"])
        #expect(listed.contains { $0["name"] as? String == queue && $0["count"] as? Int == 1 && $0["bytes"] is NSNull })
        #expect(listed.contains { $0["name"] as? String == semaphore && $0["count"] as? Int == 3 })
    }

    @Test("Junk in /dev/shm: malformed semaphores shown as malformed, FIFOs, directories and links skipped with the reason, never opened (12)")
    func junkInSharedMemoryDirectory() throws {
        let tag = TestObjects.name("inv-junk")
        let big = "sem.\(tag)-big", zero = "sem.\(tag)-zero", flag = "sem.\(tag)-flag"
        let fifo = "\(tag)-fifo", semaphoreFifo = "sem.\(tag)-fifo", directory = "\(tag)-dir", link = "\(tag)-link"
        try InventoryFixtures.makeShmFile(Array(big.utf8), contents: Array("forty bytes of text, not a semaphore!!!\n".utf8))
        try InventoryFixtures.makeShmFile(Array(zero.utf8))
        var privateFlag = InventoryFixtures.semaphoreBytes(value: 1)
        privateFlag[8] = 0
        try InventoryFixtures.makeShmFile(Array(flag.utf8), contents: privateFlag)
        try #require(mkfifo("/dev/shm/" + fifo, 0o600) == 0 && mkfifo("/dev/shm/" + semaphoreFifo, 0o600) == 0)
        try #require(mkdir("/dev/shm/" + directory, 0o700) == 0 && symlink("/etc/passwd", "/dev/shm/" + link) == 0)
        defer { for file in [big, zero, flag, fifo, semaphoreFifo, directory, link] { TestObjects.remove(.devShmFile(Array(file.utf8))) } }

        let table = try IPCTool.run(["ls", "--kind", "pshm,psem"], timeout: .seconds(30))
        #expect(!table.timedOut && table.status == .exited(0), "\(table.stderr)")
        for name in [big, zero, flag] {
            let row = table.stdout.split(separator: "\n").first { $0.contains(" /\(name.dropFirst(4)) ") }
            #expect(row?.hasPrefix("psem ") == true && row?.contains(" malformed ") == true, "\(table.stdout)")
        }
        #expect(table.stderr.contains("psem /\(tag)-big is malformed: not a semaphore: 40 bytes; a semaphore of this C library has 32"), "\(table.stderr)")
        #expect(table.stderr.contains("psem /\(tag)-zero is malformed: not a semaphore: 0 bytes"))
        #expect(table.stderr.contains("psem /\(tag)-flag is malformed: not a semaphore"))
        #expect(table.stderr.contains("skipped /dev/shm/\(fifo): a FIFO, not a regular file"))
        #expect(table.stderr.contains("skipped /dev/shm/\(semaphoreFifo): a FIFO, not a regular file"))
        #expect(table.stderr.contains("skipped /dev/shm/\(directory): a directory, not a regular file"))
        #expect(table.stderr.contains("skipped /dev/shm/\(link): a symbolic link, not a regular file"))
        #expect(!table.stdout.contains(fifo) && !table.stdout.contains(directory) && !table.stdout.contains(link))

        let run = try IPCTool.run(["ls", "--kind", "pshm,psem", "--json"], timeout: .seconds(30))
        #expect(run.status == .exited(0))
        let json = try document(run.stdout)
        let objects = try #require(json["objects"] as? [[String: Any]])
        let malformed = try #require(objects.first { $0["name"] as? String == "/\(tag)-big" })
        #expect(malformed["kind"] as? String == "psem" && malformed["count"] is NSNull && malformed["bytes"] as? Int == 40)
        #expect((malformed["malformed"] as? String)?.contains("40 bytes") == true)
        let skipped = try #require(json["skipped"] as? [[String: Any]])
        let reasons = Dictionary(uniqueKeysWithValues: skipped.compactMap { item in (item["path"] as? String).map { ($0, "\(item["kind"] ?? "") \(item["reason"] ?? "")") } })
        #expect(reasons["/dev/shm/" + fifo] == "pshm a FIFO, not a regular file")
        #expect(reasons["/dev/shm/" + semaphoreFifo] == "psem a FIFO, not a regular file")
        #expect(reasons["/dev/shm/" + directory] == "pshm a directory, not a regular file")
        #expect(reasons["/dev/shm/" + link] == "pshm a symbolic link, not a regular file")
        // A well-formed semaphore is still one.
        #expect(!objects.contains { $0["malformed"] is String && ($0["name"] as? String)?.hasPrefix("/\(tag)") != true })
    }

    @Test("ipc rm reports each object removed and each failure, and exits 1 when any failed (8)")
    func removePartly() throws {
        let first = try InventoryFixtures.createSystemV(.sharedMemory, key: .private, count: 4096)
        let gone = try InventoryFixtures.createSystemV(.sharedMemory, key: .private, count: 4096)
        let last = try InventoryFixtures.createSystemV(.sharedMemory, key: .private, count: 4096)
        defer { for id in [first, gone, last] { TestObjects.remove(.systemV(.sharedMemory, id: id)) } }
        try SystemVKind.sharedMemory.remove(id: gone)
        let run = try IPCTool.run(["rm", "shm", String(first), String(gone), String(last)])
        #expect(run.status == .exited(1))
        #expect(run.stdout == "removed shm id \(first)\nremoved shm id \(last)\n", "\(run.stdout)")
        #expect(run.stderr.contains("no shm object with identifier \(gone)") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(InventoryFixtures.procLine(.sharedMemory, id: first) == nil && InventoryFixtures.procLine(.sharedMemory, id: last) == nil)

        let a = TestObjects.posixName("inv-partly-a"), missing = TestObjects.posixName("inv-partly-missing"), b = TestObjects.posixName("inv-partly-b")
        defer { for name in [a, b] { TestObjects.remove(.sharedMemory(name)) } }
        for name in [a, b] { #expect(try InventoryFixtures.peer("inv-posix-create", "pshm", name).status == .exited(0)) }
        let posix = try IPCTool.run(["rm", "pshm", a, missing, b])
        #expect(posix.status == .exited(1))
        #expect(posix.stdout == "removed pshm \(a)\nremoved pshm \(b)\n")
        #expect(posix.stderr.contains(missing) && posix.stderr.contains("ENOENT"))

        let key = TestObjects.systemVKey()
        let byKey = try InventoryFixtures.createSystemV(.messageQueue, key: key)
        defer { TestObjects.remove(.systemV(.messageQueue, id: byKey)) }
        let keyed = try IPCTool.run(["rm", "msg", "--key", key.description])
        #expect(keyed.status == .exited(0) && keyed.stdout == "removed msg \(key) id \(byKey)\n", "\(keyed.stdout)\(keyed.stderr)")
    }

    @Test("ipc ls --output, --noheadings, --bytes; sizes for people in tables and bytes in JSON (20)")
    func tableOptions() throws {
        let segment = try InventoryFixtures.createSystemV(.sharedMemory, key: .private, count: 1536)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment)) }
        let run = try IPCTool.run(["ls", "--kind", "shm", "--output", "id,SIZE/COUNT", "-o", "kind", "--noheadings"])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let row = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("\(segment) ") })
        #expect(row.split(separator: " ") == [Substring(String(segment)), "1.5K", "shm"])
        #expect(!run.stdout.contains("KIND") && !run.stdout.contains("ID "))
        let exact = try IPCTool.run(["ls", "--kind", "shm", "-o", "id,size,cuid", "--bytes"])
        #expect(exact.stdout.hasPrefix("ID "), "\(exact.stdout)")
        #expect(exact.stdout.split(separator: "\n").contains { $0.split(separator: " ") == [Substring(String(segment)), "1536B", "0"] }, "\(exact.stdout)")
        #expect(try listed(["--kind", "shm"]).contains { $0["id"] as? Int == Int(segment) && $0["bytes"] as? Int == 1536 })
        for (arguments, message) in [(["--output", "bogus"], "unknown column 'bogus'"), (["--output", ""], "--output needs a column"),
                                     (["--kind", ""], "--kind needs a kind"), (["--kind", "msg,"], "--kind needs a kind"),
                                     (["--json", "--output", "id"], "--json prints every field")] {
            let refused = try IPCTool.run(["ls"] + arguments)
            #expect(refused.status == .exited(64), "\(arguments)")
            #expect(refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
    }

    @Test("ipc rm refuses out-of-range identifiers naming the range, and address conflicts without parser internals (18, 20)")
    func removeArguments() throws {
        for arguments in [["shm", "99999999999"], ["shm", "--id", "4294967296"], ["msg", "--id", "-1"]] {
            let run = try IPCTool.run(["rm"] + arguments)
            #expect(run.status == .exited(64), "\(arguments)")
            #expect(run.stderr.contains("out of range: identifiers are 0 to 2147483647"), "\(arguments): \(run.stderr)")
        }
        let word = try IPCTool.run(["rm", "sem", "abc"])
        #expect(word.status == .exited(64) && word.stderr.contains("'abc' is not an identifier"), "\(word.stderr)")
        let both = try IPCTool.run(["rm", "msg", "--key", "0x1234", "--id", "0"])
        #expect(both.status == .exited(64), "\(both.stderr)")
        #expect(both.stderr.contains("exactly one of --key, --id"), "\(both.stderr)")
        #expect(!both.stderr.contains("CommandError") && !both.stderr.contains("ArgumentParser"), "\(both.stderr)")
        let proj = try IPCTool.run(["rm", "msg", "--path", "/tmp", "--proj", "300"])
        #expect(proj.status == .exited(64) && proj.stderr.contains("1 to 255") && !proj.stderr.contains("CommandError"), "\(proj.stderr)")
        for command in ["ls", "rm"] {
            let help = try IPCTool.run([command, "--help"])
            #expect(help.status == .exited(0) && !help.stdout.contains("SPEC"), "\(help.stdout)")
        }
    }
}
