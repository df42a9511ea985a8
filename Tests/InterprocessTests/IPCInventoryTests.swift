import Foundation
@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `IPCInventory` (SPEC L2, V3): what other processes and the system's tools made
/// appears as the kernel reports it, and can be removed.
@Suite("IPC inventory")
struct IPCInventoryTests {
    private func entry(_ kind: IPCInventory.Kind, id: Int32, in inventory: IPCInventory) -> IPCInventory.Entry? {
        inventory.entries.first { $0.kind == kind && $0.id == id }
    }

    private func entry(_ kind: IPCInventory.Kind, name: String, in inventory: IPCInventory) -> IPCInventory.Entry? {
        inventory.entries.first { $0.kind == kind && $0.name == PosixIPCName(name) }
    }

    @Test("System V objects another process created appear with key, id, owner, mode, size, nattch and creator pid (L2, V3)")
    func systemVObjectsOfAPeer() throws {
        let queueKey = TestObjects.systemVKey(), setKey = TestObjects.systemVKey(), segmentKey = TestObjects.systemVKey()
        let queue = try InventoryFixtures.createSystemV(.messageQueue, key: queueKey, mode: "640")
        defer { TestObjects.remove(.systemV(.messageQueue, id: queue)) }
        let set = try InventoryFixtures.createSystemV(.semaphoreSet, key: setKey, count: 3, mode: "600")
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set)) }
        let segment = try InventoryFixtures.createSystemV(.sharedMemory, key: segmentKey, count: 8192, mode: "644")
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment)) }
        // The creator has exited (V3: the objects outlive it); another peer attaches.
        let attached = try PeerSession("inv-shm-attach", [String(segment)])
        #expect(try attached.line() == "attached")

        let inventory = IPCInventory.snapshot(kinds: [.systemVQueue, .systemVSemaphoreSet, .systemVSharedMemory])
        #expect(inventory.unavailable.isEmpty)
        let q = try #require(entry(.systemVQueue, id: queue, in: inventory))
        #expect(q.key == queueKey && q.ownerUID == 0 && q.creatorUID == 0 && q.ownerName == "root")
        #expect(q.mode == FilePermissions(rawValue: 0o640) && q.bytes == 0 && q.count == 0)
        let s = try #require(entry(.systemVSemaphoreSet, id: set, in: inventory))
        #expect(s.key == setKey && s.mode == FilePermissions(rawValue: 0o600) && s.count == 3)
        let m = try #require(entry(.systemVSharedMemory, id: segment, in: inventory))
        #expect(m.key == segmentKey && m.mode == FilePermissions(rawValue: 0o644) && m.bytes == 8192)
        #expect(m.users == 1, "nattch counts the attached peer")
        #expect(m.lastPID == attached.pid, "lpid is the process that attached last")
        #expect(m.creatorPID != nil && m.creatorPID != attached.pid && m.creatorPID != getpid())
        // The kernel's own view of the same objects (IPC_STAT).
        for (kind, id, listed) in [(SystemVKind.messageQueue, queue, q), (.semaphoreSet, set, s), (.sharedMemory, segment, m)] {
            let stat = try kind.permissions(id: id)
            #expect(stat.key == listed.key && stat.uid == listed.ownerUID && stat.gid == listed.ownerGID && stat.mode == listed.mode)
        }
        #expect(try attached.finish() == .exited(0))
        let after = IPCInventory.snapshot(kinds: [.systemVSharedMemory])
        #expect(entry(.systemVSharedMemory, id: segment, in: after)?.users == 0)
    }

    @Test("Objects ipcmk made match what ipcs -i reports (L2)")
    func systemToolObjects() throws {
        guard let ipcmk = InventoryFixtures.tool("ipcmk"), let ipcs = InventoryFixtures.tool("ipcs") else {
            print("skipped: ipcmk or ipcs is not installed")
            return
        }
        var made: [(SystemVKind, Int32)] = []
        defer { for (kind, id) in made { TestObjects.remove(.systemV(kind, id: id)) } }
        for (kind, flags) in [(SystemVKind.messageQueue, ["-Q"]), (.semaphoreSet, ["-S", "3"]), (.sharedMemory, ["-M", "4096"])] {
            let run = try InventoryFixtures.runTool(ipcmk, flags + ["-p", "0640"])
            try #require(run.status == .exited(0), "ipcmk \(flags): \(run.output)")
            made.append((kind, try #require(run.output.split(separator: " ").last.flatMap { Int32($0) }, "ipcmk printed \(run.output)")))
        }
        let inventory = IPCInventory.snapshot(kinds: [.systemVQueue, .systemVSemaphoreSet, .systemVSharedMemory])
        for (kind, id) in made {
            let listed = try #require(entry(IPCInventory.Kind(kind), id: id, in: inventory), "\(kind) \(id) is listed")
            let flag = kind == .messageQueue ? "-q" : kind == .semaphoreSet ? "-s" : "-m"
            let report = try InventoryFixtures.runTool(ipcs, [flag, "-i", String(id)])
            let fields = InventoryFixtures.ipcsFields(report.output)
            #expect(fields["uid"] == listed.ownerUID.map { String($0) })
            #expect(fields["cuid"] == listed.creatorUID.map { String($0) })
            #expect(fields["gid"] == listed.ownerGID.map { String($0) })
            #expect(fields["mode"] == "0640" && listed.mode == FilePermissions(rawValue: 0o640))
            switch kind {
            case .messageQueue: #expect(fields["cbytes"] == listed.bytes.map { String($0) } && fields["qnum"] == listed.count.map { String($0) })
            case .semaphoreSet: #expect(fields["nsems"] == "3" && listed.count == 3)
            case .sharedMemory:
                #expect(fields["bytes"] == "4096" && listed.bytes == 4096)
                #expect(fields["nattch"] == listed.users.map { String($0) } && fields["cpid"] == listed.creatorPID.map { String($0) })
            }
        }
    }

    @Test("POSIX queue, shared memory and semaphore a peer made appear and are removed (L2)")
    func posixObjectsOfAPeer() throws {
        let queue = TestObjects.posixName("inv-mq"), memory = TestObjects.posixName("inv-pshm"), semaphore = TestObjects.posixName("inv-psem")
        defer {
            TestObjects.remove(.queue(queue))
            TestObjects.remove(.sharedMemory(memory))
            TestObjects.remove(.semaphore(semaphore))
        }
        for (kind, name) in [("mq", queue), ("pshm", memory), ("psem", semaphore)] {
            let run = try InventoryFixtures.peer("inv-posix-create", kind, name)
            try #require(run.status == .exited(0), "\(kind): \(run.output)")
        }
        let inventory = IPCInventory.snapshot(kinds: [.posixQueue, .posixSharedMemory, .posixSemaphore])
        let mode = FilePermissions(rawValue: 0o640)
        let m = try #require(entry(.posixSharedMemory, name: memory, in: inventory))
        #expect(m.bytes == 4096 && m.mode == mode && m.ownerUID == 0 && m.ownerName == "root")
        let s = try #require(entry(.posixSemaphore, name: semaphore, in: inventory))
        #expect(s.count == 3 && s.mode == mode && s.ownerUID == 0)
        if let reason = inventory.unavailable[.posixQueue] {
            // Only when this process may not mount the mqueue filesystem.
            #expect(getuid() != 0, "as root the queues are listed: \(reason)")
        } else {
            let q = try #require(entry(.posixQueue, name: queue, in: inventory))
            #expect(q.count == 1 && q.mode == mode && q.ownerUID == 0, "mq_curmsgs of one message")
            #expect(q.bytes == nil, "QSIZE is not read: reading the queue's file would change its times")
        }
        // Users: the processes that have the object open or mapped.
        #expect(m.users == 0 && s.users == 0)
        let holders = try [("mq", queue), ("pshm", memory), ("psem", semaphore)].map { try PeerSession("inv-posix-hold", [$0.0, $0.1]) }
        for holder in holders { #expect(try holder.line() == "open") }
        let held = IPCInventory.snapshot(kinds: [.posixQueue, .posixSharedMemory, .posixSemaphore])
        if getuid() == 0 {
            #expect(entry(.posixSharedMemory, name: memory, in: held)?.users == 1)
            #expect(entry(.posixSemaphore, name: semaphore, in: held)?.users == 1)
            if held.unavailable[.posixQueue] == nil { #expect(entry(.posixQueue, name: queue, in: held)?.users == 1) }
        }
        for holder in holders { #expect(try holder.finish() == .exited(0)) }

        try IPCInventory.remove(.posixQueue, name: PosixIPCName(queue))
        try IPCInventory.remove(.posixSharedMemory, name: PosixIPCName(memory))
        try IPCInventory.remove(.posixSemaphore, name: PosixIPCName(semaphore))
        let after = IPCInventory.snapshot(kinds: [.posixQueue, .posixSharedMemory, .posixSemaphore])
        #expect(!after.entries.contains { [queue, memory, semaphore].map { PosixIPCName($0) }.contains($0.name) })
        #expect(throws: IPCError.self) { try IPCInventory.remove(.posixSharedMemory, name: PosixIPCName(memory)) }
    }

    @Test("Names are exact bytes; a junk sem.NAME is malformed and a FIFO skipped; entries are removed by their bytes (9, 12)")
    func namesMalformedAndSkipped() throws {
        let tag = TestObjects.name("inv-lib-bytes")
        let memory = Array("\(tag)-".utf8) + [0xff, 0x0a], junk = Array("sem.\(tag)-".utf8) + [0xfe], fifo = Array("\(tag)-fifo".utf8)
        try InventoryFixtures.makeShmFile(memory, contents: [1, 2])
        try InventoryFixtures.makeShmFile(junk, contents: [UInt8](repeating: 0x61, count: 40))
        try #require(mkfifo(InventoryFixtures.shmPath(fifo), 0o600) == 0)
        defer { for file in [memory, junk, fifo] { TestObjects.remove(.devShmFile(file)) } }

        let inventory = IPCInventory.snapshot(kinds: [.posixSharedMemory, .posixSemaphore])
        let m = try #require(inventory.entries.first { $0.name == PosixIPCName(bytes: [0x2f] + memory) })
        #expect(m.kind == .posixSharedMemory && m.bytes == 2 && m.malformation == nil)
        let j = try #require(inventory.entries.first { $0.name == PosixIPCName(bytes: [0x2f] + junk.dropFirst(4)) })
        #expect(j.kind == .posixSemaphore && j.count == nil && j.bytes == 40)
        #expect(j.malformation == "not a semaphore: 40 bytes; a semaphore of this C library has 32")
        let skipped = try #require(inventory.skipped.first { $0.path == Array("/dev/shm/".utf8) + fifo })
        #expect(skipped.kind == .posixSharedMemory && skipped.reason == "a FIFO, not a regular file" && skipped.ownerUID == 0)
        #expect(!inventory.entries.contains { $0.name?.bytes.starts(with: [0x2f] + fifo) == true })

        try IPCInventory.remove(m)
        try IPCInventory.remove(j)
        #expect(access(InventoryFixtures.shmPath(memory), F_OK) != 0 && access(InventoryFixtures.shmPath(junk), F_OK) != 0)
    }

    @Test("Listing POSIX queues by a private mount leaves no mount behind, with other threads running (L2)")
    func privateQueueMount() async throws {
        let before = try InventoryText.read("/proc/self/mountinfo")
        // Other threads of this process are busy while the listing thread mounts.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { IPCInventory.snapshot(kinds: [.posixQueue]).entries.count } }
            for try await _ in group {}
        }
        let inventory = IPCInventory.snapshot(kinds: [.posixQueue])
        if getuid() == 0 { #expect(inventory.unavailable.isEmpty, "\(inventory.unavailable)") }
        else { #expect(inventory.unavailable[.posixQueue]?.contains("CAP_SYS_ADMIN") == true) }
        let after = try InventoryText.read("/proc/self/mountinfo")
        #expect(before.split(separator: "\n").filter { $0.contains(" - mqueue ") }.count
                == after.split(separator: "\n").filter { $0.contains(" - mqueue ") }.count, "no mqueue mount leaked into the process")
        for table in [after, try InventoryText.read("/proc/1/mountinfo")] {
            #expect(!table.contains("ipc-mqueue-"), "the private mount point never shows outside its thread")
        }
    }

    @Test("A record lock a peer holds appears with its pid, range and the file's path (L2)")
    func recordLockOfAPeer() throws {
        var template = Array("/tmp/inv-lock-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        close(fd)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { TestObjects.remove(.file(path)) }
        var info = stat()
        try #require(stat(path, &info) == 0)

        let posix = try PeerSession("inv-lock", [path, "posix", "10", "20"])
        #expect(try posix.line() == "locked")
        let shared = try PeerSession("inv-lock", [path + ".flock", "flock", "0", "0"])
        defer { TestObjects.remove(.file(path + ".flock")) }
        #expect(try shared.line() == "locked")

        let locks = IPCInventory.snapshot(kinds: [.recordLock]).entries
        let held = try #require(locks.first { $0.holderPID == posix.pid && $0.lock?.isWaiting == false })
        let details = try #require(held.lock)
        #expect(details.style == .posix && details.access == .write)
        #expect(details.start == 10 && details.end == 29)
        #expect(details.inode == UInt64(info.st_ino))
        #expect(held.path == Array(path.utf8), "the path found through /proc/\(posix.pid)/fd")
        #expect(held.ownerUID == 0 && held.mode == nil)
        let flock = try #require(locks.first { $0.holderPID == shared.pid })
        #expect(flock.lock?.style == .flock && flock.lock?.access == .read && flock.lock?.end == nil && flock.path == Array((path + ".flock").utf8))

        #expect(try posix.finish() == .exited(0))
        #expect(try shared.finish() == .exited(0))
        let after = IPCInventory.snapshot(kinds: [.recordLock]).entries
        #expect(!after.contains { $0.holderPID == posix.pid || $0.holderPID == shared.pid }, "a lock goes with its holder")
    }

    @Test("owner: only the objects of that user (L2)")
    func ownerFilter() throws {
        let user = InventoryFixtures.randomUser()
        let theirs = try InventoryFixtures.createSystemV(.messageQueue, key: TestObjects.systemVKey(), asUser: user)
        defer { TestObjects.remove(.systemV(.messageQueue, id: theirs)) }
        let mine = try InventoryFixtures.createSystemV(.messageQueue, key: TestObjects.systemVKey())
        defer { TestObjects.remove(.systemV(.messageQueue, id: mine)) }
        let forUser = IPCInventory.snapshot(owner: user)
        #expect(forUser.entries.map(\.id) == [theirs])
        #expect(forUser.entries.first?.ownerUID == user && forUser.entries.first?.ownerName == nil)
        let forRoot = IPCInventory.snapshot(kinds: [.systemVQueue], owner: 0)
        #expect(forRoot.entries.contains { $0.id == mine } && !forRoot.entries.contains { $0.id == theirs })
    }

    @Test("Removal errors: a missing id, a lock, a kind named the wrong way, a bad name (V3)")
    func removalErrors() throws {
        let id = try InventoryFixtures.createSystemV(.semaphoreSet, key: .private, count: 1)
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: id)) }
        try IPCInventory.remove(.systemVSemaphoreSet, id: id)
        #expect(InventoryFixtures.procLine(.semaphoreSet, id: id) == nil)
        #expect { try IPCInventory.remove(.systemVSemaphoreSet, id: id) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        #expect { try IPCInventory.remove(.recordLock, name: "/tmp/x") } throws: {
            ($0 as? IPCError)?.errno == .notSupported && ($0 as? IPCError)?.detail?.contains("holder unlocks or exits") == true
        }
        #expect { try IPCInventory.remove(.posixQueue, id: 1) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        #expect { try IPCInventory.remove(.systemVQueue, name: "/q") } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        #expect { try IPCInventory.remove(.posixSemaphore, name: "no-slash") } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
    }

    @Test("/proc/sysvipc rows are read by column name, whatever the order and extra columns")
    func columnsByName() throws {
        let text = """
               shmid       key extra perms       size nattch  cuid cgid  uid  gid  cpid lpid ctime
                  42      4660   zzz  1644       8192      2  1000 1000 1001 1001   77   78  1700000000

        """
        var names = UserNames()
        let entries = try SystemVInventory.parse(text, kind: .sharedMemory, names: &names)
        let entry = try #require(entries.first)
        #expect(entry.id == 42 && entry.key == IPCKey(0x1234) && entry.bytes == 8192 && entry.users == 2)
        #expect(entry.ownerUID == 1001 && entry.creatorUID == 1000 && entry.creatorPID == 77 && entry.lastPID == 78)
        #expect(entry.mode == FilePermissions(rawValue: 0o644) && entry.isMarkedForRemoval)
        #expect(entry.changeTime == 1_700_000_000)
        #expect(throws: IPCError.self) { try SystemVInventory.parse("a b c\n", kind: .messageQueue, names: &names) }
    }

    @Test("/proc/locks lines: held, waiting, OFD without pid")
    func lockLines() {
        let entries = RecordLockInventory.parse("""
        1: POSIX  ADVISORY  WRITE 4242 08:01:1234 0 EOF
        1: -> POSIX  ADVISORY  WRITE 4243 08:01:1234 0 EOF
        2: OFDLCK ADVISORY  READ  -1 fd:02:99 100 199
        3: FLOCK  ADVISORY  WRITE 17 00:1a:5 0 EOF

        """)
        #expect(entries.count == 4)
        #expect(entries[0].holderPID == 4242 && entries[0].lock?.isWaiting == false && entries[0].lock?.end == nil)
        #expect(entries[1].holderPID == 4243 && entries[1].lock?.isWaiting == true)
        #expect(entries[2].holderPID == nil && entries[2].lock?.style == .openFileDescription && entries[2].lock?.deviceMajor == 0xfd)
        #expect(entries[2].lock?.start == 100 && entries[2].lock?.end == 199 && entries[2].lock?.access == .read)
        #expect(entries[3].lock?.style == .flock && entries[3].lock?.inode == 5)
    }
}

@Suite("The layout placed in POSIX shared memory, as the host sees it (L2, H5)")
struct PlacedObjectInventoryTests {
    private func listed(_ name: String) -> IPCInventory.Entry? {
        IPCInventory.snapshot(kinds: [.posixSharedMemory]).entries.first { $0.name == PosixIPCName(name) }
    }

    @Test("a placed object shows its type and version; plain memory and a junk header show none")
    func placedType() throws {
        let placedName = TestObjects.sharedMemoryName(), plainName = TestObjects.sharedMemoryName()
        defer {
            TestObjects.remove(.sharedMemory(placedName))
            TestObjects.remove(.sharedMemory(plainName))
        }
        let test = try LockTestLayout()
        let placed = try test.create(placedName)
        let plain = try PosixSharedMemory.create(plainName, size: 4096)
        #expect(listed(placedName)?.placement == PlacedObjectSummary(header: try placed.mapping.read(count: PlacementHeader.size, from: 0)))
        let summary = try #require(listed(placedName)?.placement)
        #expect(summary.type == Array("lock-test".utf8) && summary.version == 1 && summary.state == .ready)
        #expect(listed(plainName).map { $0.placement == nil } == true)

        // A header whose initialiser has not finished names it; a name length
        // outside 1...64 is no header.
        let mapping = try plain.map()
        try mapping.store(PlacementHeader.magic, at: PlacementHeader.magicOffset)
        try mapping.store(PlacementHeader.format, at: PlacementHeader.formatOffset)
        try mapping.store(UInt32(7), at: PlacementHeader.versionOffset)
        try mapping.store(UInt32(4), at: PlacementHeader.nameLengthOffset)
        try mapping.write(Array("ring".utf8), at: PlacementHeader.nameOffset)
        try mapping.store(UInt32(4321), at: PlacementHeader.stateOffset)
        let initialising = try #require(listed(plainName)?.placement)
        #expect(initialising.type == Array("ring".utf8) && initialising.version == 7 && initialising.state == .initialising(pid: 4321))
        try mapping.store(UInt32(65), at: PlacementHeader.nameLengthOffset)
        #expect(listed(plainName).map { $0.placement == nil } == true)
    }

    @Test("ipc ls --output name,placed and --json show it")
    func placedColumn() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try LockTestLayout()
        _ = try test.create(name)
        let run = try IPCTool.run(["ls", "--kind", "pshm", "--output", "name,placed"], timeout: .seconds(60))
        #expect(run.status == .exited(0), "\(run.stderr)")
        let row = run.stdout.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        #expect(row.map { $0.split(separator: " ", omittingEmptySubsequences: true) } == [Substring(name), "lock-test", "v1"], "\(run.stdout)")
        let json = try IPCTool.run(["ls", "--kind", "pshm", "--json"], timeout: .seconds(60))
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let object = (document?["objects"] as? [[String: Any]])?.first { $0["name"] as? String == name }
        let placedField = try #require(object?["placed"] as? [String: Any], "\(json.stdout)")
        #expect(placedField["type"] as? String == "lock-test" && placedField["version"] as? Int == 1)
        #expect(placedField["state"] as? String == "ready" && placedField["initialiserPID"] is NSNull)
    }
}
