import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether /proc/sysvipc/shm lists the segment `id` (its second column).
func sysvipcListsSegment(_ id: Int32) -> Bool {
    guard let file = fopen("/proc/sysvipc/shm", "r") else { return false }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 1024)
    while fgets(&line, CInt(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let columns = text.split(separator: " ", omittingEmptySubsequences: true)
        if columns.count > 1, columns[1] == "\(id)" { return true }
    }
    return false
}

/// How /proc/PID/maps names an attachment of the segment created with `key`.
func mapsName(_ key: IPCKey) -> String { "SYSV" + key.description.dropFirst(2) }

/// Whether this process's /proc/self/maps contains `text`.
func ownMapsContain(_ text: String) -> Bool {
    guard let file = fopen("/proc/self/maps", "r") else { return false }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, CInt(line.count), file) != nil {
        if String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).contains(text) { return true }
    }
    return false
}

@Suite("System V shared memory (H4, H5, V3)")
struct SystemVSharedMemoryTests {
    @Test("a peer attached by key writes and this process reads, and the reverse; cpid and lpid name the processes")
    func sharedBetweenProcesses() throws {
        let key = TestObjects.systemVKey()
        let segment = try SystemVSharedMemory.create(key: key, size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let attachment = try segment.attach()
        let created = try segment.status()
        #expect(created.size == 4096 && created.attachCount == 1)
        #expect(created.creatorPID == getpid() && created.lastOperationPID == getpid())
        #expect(created.permissions.key == key && created.permissions.mode == [.ownerRead, .ownerWrite])
        #expect(created.permissions.uid == getuid() && created.permissions.creatorUID == getuid())
        #expect(created.attachTime != nil && created.detachTime == nil && !created.isMarkedForRemoval && !created.isLocked)
        #expect(try attachment.mapping.read(count: 4096, from: 0).allSatisfy { $0 == 0 }, "a new segment is zero-filled")

        let writer = try CapturedPeer(TestPeer.spawn("sysv-shm-write", key.description, "100", "from the peer"))
        let writerPID = writer.pid
        #expect(try writer.finish().status == .exited(0))
        #expect(try attachment.mapping.read(count: 13, from: 100) == Array("from the peer".utf8))
        let afterWriter = try segment.status()
        #expect(afterWriter.lastOperationPID == writerPID, "the peer's detach was the last operation")
        #expect(afterWriter.creatorPID == getpid() && afterWriter.attachCount == 1 && afterWriter.detachTime != nil)

        try attachment.mapping.write(Array("from the test".utf8), at: 200)
        let reader = try TestPeer.run(TestPeer.spawn("sysv-shm-read", key.description, "200", "13"))
        #expect(reader.status == .exited(0) && reader.output == "from the test")
    }

    @Test("nattch counts attachments in every process; shmdt, exit and SIGKILL each end one")
    func attachCount() throws {
        let segment = try SystemVSharedMemory.create(size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let attachment = try segment.attach()
        #expect(try segment.status().attachCount == 1)

        let detaching = try PeerSession("sysv-shm-session", [String(segment.id)])
        #expect(try detaching.line() == "attached")
        var status = try segment.status()
        #expect(status.attachCount == 2 && status.lastOperationPID == detaching.pid)
        try detaching.send("write 0 hello")
        #expect(try detaching.line() == "ok")
        #expect(try attachment.mapping.read(count: 5, from: 0) == Array("hello".utf8))
        try detaching.send("detach")
        #expect(try detaching.line() == "detached")
        #expect(try segment.status().attachCount == 1, "shmdt ended the peer's attachment while it still runs")
        #expect(try detaching.finish() == .exited(0))

        let exiting = try PeerSession("sysv-shm-session", [String(segment.id)])
        #expect(try exiting.line() == "attached")
        #expect(try segment.status().attachCount == 2)
        try exiting.send("exit")
        #expect(try exiting.finish() == .exited(0))
        status = try segment.status()
        #expect(status.attachCount == 1, "the peer exited attached: the kernel detached it")
        #expect(status.lastOperationPID == exiting.pid)

        let killed = try PeerSession("sysv-shm-session", [String(segment.id)])
        #expect(try killed.line() == "attached")
        #expect(try segment.status().attachCount == 2)
        #expect(kill(killed.pid, SIGKILL) == 0)
        #expect(try killed.finish() == .signalled(SIGKILL, coreDumped: false))
        #expect(try segment.status().attachCount == 1, "a killed process is detached too")
    }

    @Test("removed while attached: still usable, marked, key gone (ENOENT), freed at the last detach")
    func removalWhileAttached() throws {
        let key = TestObjects.systemVKey()
        let segment = try SystemVSharedMemory.create(key: key, size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let attachment = try segment.attach()
        let peer = try PeerSession("sysv-shm-session", [String(segment.id)])
        #expect(try peer.line() == "attached")

        try segment.remove()
        let status = try segment.status()
        #expect(status.isMarkedForRemoval && status.attachCount == 2)
        #expect(status.permissions.key == .private, "the key is given up at once")
        let lookup = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.open(key: key) }
        #expect(lookup?.errno == .noSuchFileOrDirectory)
        #expect(sysvipcListsSegment(segment.id))

        try attachment.mapping.write(Array("still here".utf8), at: 0)
        try peer.send("read 0 10")
        #expect(try peer.line() == "still here", "both processes keep using it")

        // Linux still attaches a marked segment by identifier.
        let late = try segment.attach()
        #expect(try segment.status().attachCount == 3)
        try late.detach()

        let successor = try SystemVSharedMemory.create(key: key, size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: successor.id)) }
        #expect(successor.id != segment.id, "the key names a new segment")
        try successor.remove()

        try attachment.detach()
        #expect(sysvipcListsSegment(segment.id), "the peer is still attached")
        try peer.send("detach")
        #expect(try peer.line() == "detached")
        #expect(!sysvipcListsSegment(segment.id), "freed at the last detach")
        let gone = #expect(throws: IPCError.self) { _ = try segment.status() }
        #expect(gone?.errno == .invalidArgument)
        #expect(try peer.finish() == .exited(0))
    }

    @Test("a segment outlives the process that created it (V3, L3)")
    func persistence() throws {
        let key = TestObjects.systemVKey()
        let creator = try CapturedPeer(TestPeer.spawn("sysv-shm-create-and-exit", key.description, "kept by the kernel"))
        let creatorPID = creator.pid
        let (exit, output) = try creator.finish()
        let id = try #require(Int32(output))
        defer { TestObjects.remove(.systemV(.sharedMemory, id: id)) }
        #expect(exit == .exited(0))
        let segment = try SystemVSharedMemory.open(key: key)
        #expect(segment.id == id)
        let status = try segment.status()
        #expect(status.attachCount == 0 && status.creatorPID == creatorPID)
        #expect(try segment.attach(readOnly: true).mapping.read(count: 18, from: 0) == Array("kept by the kernel".utf8))
    }

    @Test("a read-only attachment refuses writes with EACCES before touching memory")
    func readOnly() throws {
        let segment = try SystemVSharedMemory.create(size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let writable = try segment.attach()
        try writable.mapping.write(Array("abc".utf8), at: 0)
        let readOnly = try segment.attach(readOnly: true)
        #expect(readOnly.isReadOnly && !writable.isReadOnly)
        #expect(try readOnly.mapping.read(count: 3, from: 0) == Array("abc".utf8))

        let write = #expect(throws: IPCError.self) { try readOnly.mapping.write(Array("x".utf8), at: 0) }
        #expect(write?.errno == .permissionDenied)
        #expect(write?.detail?.contains("SHM_RDONLY") == true, "\(String(describing: write))")
        let store = #expect(throws: IPCError.self) { try readOnly.mapping.store(UInt8(1), at: 0) }
        #expect(store?.errno == .permissionDenied)
        #expect(throws: IPCError.self) { try readOnly.mapping.withMutableBytes { _ in } }
        let atomic = #expect(throws: IPCError.self) { try readOnly.mapping.withAtomic(UInt64.self, at: 8) { _ in } }
        #expect(atomic?.errno == .permissionDenied)
        #expect(try writable.mapping.read(count: 3, from: 0) == Array("abc".utf8), "nothing was written")

        let peer = try PeerSession("sysv-shm-session", [String(segment.id), "ro"])
        #expect(try peer.line() == "attached")
        try peer.send("write 0 x")
        #expect(try peer.line() == "EACCES")
        try peer.send("read 0 3")
        #expect(try peer.line() == "abc")
        #expect(try peer.finish() == .exited(0))
    }

    @Test("address hints: SHMLBA-aligned lands there, SHM_RND rounds down, misaligned without it is EINVAL")
    func addressHints() throws {
        let page = SystemVSharedMemory.segmentLowBoundary
        #expect(page == MemoryMapping.pageSize)
        let segment = try SystemVSharedMemory.create(size: 2 * page)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }

        let first = try segment.attach()
        let occupied = #expect(throws: IPCError.self) { _ = try segment.attach(at: first.address) }
        #expect(occupied?.errno == .invalidArgument, "shmat never replaces a mapping")
        #expect(occupied?.detail?.contains("not free") == true)
        let misaligned = #expect(throws: IPCError.self) { _ = try segment.attach(at: first.address + 100) }
        #expect(misaligned?.errno == .invalidArgument)
        #expect(misaligned?.detail?.contains("SHMLBA") == true && misaligned?.detail?.contains("roundingDown") == true)
        try first.detach()

        // A free, aligned address: where the kernel just put the segment. Another
        // test's thread could map something there in between; then try again.
        var landedRounded = false, landedExact = false
        for _ in 0..<10 where !landedRounded {
            landedRounded = try attachAtFreeAddress(segment) { free throws(IPCError) in
                let rounded = try segment.attach(at: free + 100, roundingDown: true)
                #expect(rounded.address == free, "SHM_RND rounded the hint down to SHMLBA")
                try rounded.mapping.write(Array("rounded".utf8), at: page + 1)
            }
        }
        for _ in 0..<10 where !landedExact {
            landedExact = try attachAtFreeAddress(segment) { free throws(IPCError) in
                let exact = try segment.attach(at: free)
                #expect(exact.address == free)
                let text = try exact.mapping.read(count: 7, from: page + 1)
                #expect(text == Array("rounded".utf8))
            }
        }
        #expect(landedRounded && landedExact)
    }

    @Test("permissions are enforced: EACCES for an unprivileged peer (0600), read-only allowed by 0604")
    func permissionDenied() throws {
        let segment = try SystemVSharedMemory.create(size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let id = String(segment.id)
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "sysv-shm-attach-status", id, "rw")).output == "EACCES")
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "sysv-shm-attach-status", id, "ro")).output == "EACCES")
        #expect(try TestPeer.run(TestPeer.spawn("sysv-shm-attach-status", id, "rw")).output == "ok")

        let shared = try SystemVSharedMemory.create(size: 4096, permissions: [.ownerRead, .ownerWrite, .otherRead])
        defer { TestObjects.remove(.systemV(.sharedMemory, id: shared.id)) }
        #expect(try shared.permissions().mode.rawValue == 0o604)
        let sharedID = String(shared.id)
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "sysv-shm-attach-status", sharedID, "ro")).output == "ok")
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "sysv-shm-attach-status", sharedID, "rw")).output == "EACCES")

        try segment.changePermissions(mode: [.ownerRead, .ownerWrite, .otherRead, .otherWrite])
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "sysv-shm-attach-status", id, "rw")).output == "ok",
                "IPC_SET's new mode is enforced")
    }

    @Test("create is exclusive (EEXIST), open needs a segment (ENOENT), openOrCreate needs one large enough")
    func creationModes() throws {
        let key = TestObjects.systemVKey()
        let segment = try SystemVSharedMemory.create(key: key, size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let again = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.create(key: key, size: 4096) }
        #expect(again?.errno == .fileExists)
        #expect(again?.description.hasPrefix("shmget(key \(key)): file exists (EEXIST)") == true, "\(String(describing: again))")
        #expect(try SystemVSharedMemory.open(key: key) == segment)
        #expect(try SystemVSharedMemory.openOrCreate(key: key, size: 100) == segment)
        #expect(try SystemVSharedMemory(id: segment.id).size == 4096, "an existing segment keeps its size")

        let larger = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.openOrCreate(key: key, size: 8192) }
        #expect(larger?.errno == .invalidArgument)
        #expect(larger?.detail?.contains("4096 bytes, fewer than the 8192") == true, "\(String(describing: larger))")

        let missingKey = TestObjects.systemVKey()
        let missing = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.open(key: missingKey) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
        let created = try SystemVSharedMemory.openOrCreate(key: missingKey, size: 100)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: created.id)) }
        #expect(try created.size == 100)
        #expect(try created.permissions().mode == [.ownerRead, .ownerWrite])

        let privately = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.open(key: .private) }
        #expect(privately?.errno == .invalidArgument)
        try created.remove()
        let removed = #expect(throws: IPCError.self) { _ = try created.attach() }
        #expect(removed?.errno == .invalidArgument)
    }

    @Test("sizes are checked: zero and negative before the call, too big with the limit that refused it")
    func sizes() throws {
        for size in [0, -1] {
            let error = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.create(size: size) }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail?.contains("SHMMIN") == true)
        }
        let zero = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.openOrCreate(key: TestObjects.systemVKey(), size: 0) }
        #expect(zero?.errno == .invalidArgument)

        let maximum = try #require(SystemVSharedMemory.maximumSize)
        let tooBig = #expect(throws: IPCError.self) { _ = try SystemVSharedMemory.create(size: Int.max) }
        let error = try #require(tooBig)
        if maximum < UInt64(Int.max) {
            #expect(error.errno == .invalidArgument && error.detail?.contains("SHMMAX") == true, "\(error)")
        } else {
            // Linux's default SHMMAX is nearly 2^64: memory accounting or SHMALL refuses.
            #expect(error.errno == .noMemory || error.errno == .noSpace, "\(error)")
            #expect(error.detail != nil, "\(error)")
        }
    }

    @Test("an attachment detaches when consumed or dropped; exec and spawned programs never inherit it (H5, L3)")
    func attachmentLifetime() throws {
        let key = TestObjects.systemVKey()
        let segment = try SystemVSharedMemory.create(key: key, size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }

        let attachment = try segment.attach()
        #expect(ownMapsContain(mapsName(key)))
        let child = try TestPeer.run(TestPeer.spawn("maps-contains", mapsName(key)))
        #expect(child.output == "no", "a spawned program starts without the attachment")
        #expect(try segment.status().attachCount == 1)
        try attachment.detach()  // consumed: any later use of `attachment` does not compile
        #expect(!ownMapsContain(mapsName(key)))
        #expect(try segment.status().attachCount == 0)

        do {
            let scoped = try segment.attach()
            #expect(scoped.count == 4096)
            #expect(try segment.status().attachCount == 1)
        }
        #expect(try segment.status().attachCount == 0, "dropped at the end of its scope: shmdt in deinit")

        // The mapping moves out to code that takes a MemoryMapping, and detaches with it.
        let moved = try segment.attach()
        var mapping = moved.mapping
        try mapping.store(UInt32(7), at: 0)
        let remap = #expect(throws: IPCError.self) { try mapping.remap(length: 8192) }
        #expect(remap?.errno == .invalidArgument, "a segment keeps its size")
        #expect(try segment.status().attachCount == 1)
        try mapping.unmap()
        #expect(try segment.status().attachCount == 0)
    }

    /// Finds a free address (where the kernel attaches the segment, detached again)
    /// and calls `body` with it; false when the kernel refused (EINVAL) because
    /// something else was mapped there in between.
    private func attachAtFreeAddress(_ segment: SystemVSharedMemory, _ body: (UnsafeRawPointer) throws(IPCError) -> Void) throws -> Bool {
        let probe = try segment.attach()
        let free = probe.address
        try probe.detach()
        do {
            try body(free)
            return true
        } catch {
            if error.errno == .invalidArgument { return false }
            throw error
        }
    }
}
