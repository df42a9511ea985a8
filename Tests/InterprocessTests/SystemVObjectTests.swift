@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("System V common ground: creation, permissions, removal (V1, V2, V3)")
struct SystemVObjectTests {
    @Test("create is exclusive (EEXIST), open needs the object (ENOENT), openOrCreate finds it", arguments: SystemVKind.allCases)
    func creationModes(kind: SystemVKind) throws {
        let key = TestObjects.systemVKey()
        let missing = #expect(throws: IPCError.self) { _ = try kind.get(key: key, creation: .open, permissions: []) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
        #expect(missing?.description.hasPrefix("\(kind)get(key \(key)): ") == true)

        let id = try kind.get(key: key, creation: .create, permissions: .ownerReadWrite, count: 1)
        defer { TestObjects.remove(.systemV(kind, id: id)) }
        let again = #expect(throws: IPCError.self) { _ = try kind.get(key: key, creation: .create, permissions: .ownerReadWrite, count: 1) }
        #expect(again?.errno == .fileExists)
        #expect(try kind.get(key: key, creation: .openOrCreate, permissions: .ownerReadWrite, count: 1) == id)
        #expect(try kind.identifier(for: key) == id)
    }

    @Test("a private key always makes a new object and cannot be opened", arguments: SystemVKind.allCases)
    func privateKeys(kind: SystemVKind) throws {
        let first = try kind.get(key: .private, creation: .create, permissions: .ownerReadWrite, count: 1)
        defer { TestObjects.remove(.systemV(kind, id: first)) }
        let second = try kind.get(key: .private, creation: .create, permissions: .ownerReadWrite, count: 1)
        defer { TestObjects.remove(.systemV(kind, id: second)) }
        #expect(first != second)
        #expect(try kind.permissions(id: first).key == .private)
        let opened = #expect(throws: IPCError.self) { _ = try kind.identifier(for: .private) }
        #expect(opened?.errno == .invalidArgument)
    }

    @Test("permissions: owner and creator, mode from creation, changed with IPC_SET; the id holds the slot's sequence number", arguments: SystemVKind.allCases)
    func permissions(kind: SystemVKind) throws {
        let key = TestObjects.systemVKey()
        let id = try kind.get(key: key, creation: .create, permissions: [.ownerReadWrite, .groupRead], count: 1)
        defer { TestObjects.remove(.systemV(kind, id: id)) }
        let before = try kind.permissions(id: id)
        #expect(before.key == key)
        #expect(before.uid == geteuid() && before.creatorUID == geteuid())
        #expect(before.gid == getegid() && before.creatorGID == getegid())
        #expect(before.mode == [.ownerReadWrite, .groupRead])
        // Linux builds ids as sequence << 15 + slot (<< 24 with ipcmni_extend).
        #expect(Int32(before.sequence) == id >> 15 || Int32(before.sequence) == id >> 24, "the id holds the sequence number")

        try kind.changePermissions(id: id, uid: 65534, gid: 65534, mode: [.ownerRead, .otherRead])
        let after = try kind.permissions(id: id)
        #expect(after.uid == 65534 && after.gid == 65534)
        #expect(after.creatorUID == before.creatorUID && after.creatorGID == before.creatorGID, "the creator never changes")
        #expect(after.mode == [.ownerRead, .otherRead])
        #expect(after.sequence == before.sequence)
    }

    @Test("remove takes the object away at once; a second remove is EINVAL", arguments: SystemVKind.allCases)
    func removal(kind: SystemVKind) throws {
        let key = TestObjects.systemVKey()
        let id = try kind.get(key: key, creation: .create, permissions: .ownerReadWrite, count: 1)
        defer { TestObjects.remove(.systemV(kind, id: id)) }
        try kind.remove(id: id)
        let gone = #expect(throws: IPCError.self) { _ = try kind.permissions(id: id) }
        #expect(gone?.errno == .invalidArgument)
        let twice = #expect(throws: IPCError.self) { try kind.remove(id: id) }
        #expect(twice?.errno == .invalidArgument)
        #expect(twice?.description.hasPrefix("\(kind)ctl(IPC_RMID)(id \(id)): ") == true)
        let byKey = #expect(throws: IPCError.self) { _ = try kind.identifier(for: key) }
        #expect(byKey?.errno == .noSuchFileOrDirectory)

        // A new object with the same key: a new id, even in the same slot, so the
        // old id still names nothing (V2, the sequence number).
        let again = try kind.get(key: key, creation: .create, permissions: .ownerReadWrite, count: 1)
        defer { TestObjects.remove(.systemV(kind, id: again)) }
        #expect(again != id)
        #expect(#expect(throws: IPCError.self) { _ = try kind.permissions(id: id) }?.errno == .invalidArgument)
        if again & 0x7fff == id & 0x7fff {
            #expect(try kind.permissions(id: again).sequence != UInt16(truncatingIfNeeded: id >> 15), "the reused slot has a new sequence number")
        }
    }

    @Test("an object outlives the process that made it (V3)", arguments: SystemVKind.allCases)
    func persistence(kind: SystemVKind) throws {
        let key = TestObjects.systemVKey()
        let made = try TestPeer.run(TestPeer.spawn("sysv-make", kind.rawValue, key.description, "600"))
        #expect(made.status == .exited(0))
        let id = try #require(Int32(made.output))
        defer { TestObjects.remove(.systemV(kind, id: id)) }
        #expect(try kind.identifier(for: key) == id, "the creator has exited; the object is still there")
        #expect(try kind.permissions(id: id).mode == .ownerReadWrite)
    }

    @Test("the mode is enforced for other users; only owner, creator or root may change or remove (V2)",
          .enabled(if: geteuid() == 0, "needs root to run a peer as another user"), arguments: SystemVKind.allCases)
    func enforcement(kind: SystemVKind) throws {
        let id = try kind.get(key: TestObjects.systemVKey(), creation: .create, permissions: .ownerReadWrite, count: 1)
        defer { TestObjects.remove(.systemV(kind, id: id)) }
        func asNobody(_ command: String, _ extra: String...) throws -> String {
            try TestPeer.run(Spawn(TestPeer.path, arguments: ["as-user", "65534", command, kind.rawValue, "\(id)"] + extra)).output
        }
        #expect(try asNobody("sysv-stat") == "EACCES", "0600 keeps others out")
        #expect(try asNobody("sysv-chmod", "666") == (kind == .messageQueue ? "EACCES" : "EPERM"),
                "a queue must be read to be changed; the others are refused as the kernel refuses a non-owner")
        #expect(try asNobody("sysv-remove") == "EPERM")

        try kind.changePermissions(id: id, mode: [.ownerReadWrite, .otherRead])
        #expect(try asNobody("sysv-stat") == "ok", "0604 lets others read")
        #expect(try asNobody("sysv-chmod", "666") == "EPERM", "read permission does not allow changes")
        #expect(try asNobody("sysv-remove") == "EPERM", "nor removal")

        try kind.changePermissions(id: id, uid: 65534)
        #expect(try asNobody("sysv-chmod", "600") == "ok", "the owner may change the mode")
        try kind.changePermissions(id: id, mode: [.ownerWrite])
        #expect(try asNobody("sysv-stat") == "EACCES", "0200: not even the owner may read")
        #expect(try asNobody("sysv-chmod", "600") == (kind == .messageQueue ? "EACCES" : "ok"),
                "the owner may change what it cannot read (but a queue must be read to be changed)")
        #expect(try asNobody("sysv-remove") == "ok", "the owner may remove")
        #expect(throws: IPCError.self) { _ = try kind.permissions(id: id) }
    }

    @Test("fork: the child inherits attachments but not SEM_UNDO adjustments; exit detaches and undoes (L3)")
    func fork() throws {
        let segment = try SystemVSharedMemory.create(size: 4096)
        defer { TestObjects.remove(.systemV(.sharedMemory, id: segment.id)) }
        let set = try SystemVSemaphoreSet.create(key: .private, count: 1, initialValues: [1])
        defer { TestObjects.remove(.systemV(.semaphoreSet, id: set.id)) }
        let run = try TestPeer.run(TestPeer.spawn("sysv-fork", "\(segment.id)", "\(set.id)"))
        #expect(run.status == .exited(0))
        #expect(run.output == "child 2; after: nattch 1, value 0",
                "the child saw its inherited attachment (2); its exit detached it and undid nothing")
        #expect(try segment.status().attachCount == 0, "the parent's exit detached it")
        #expect(try set.value(of: 0) == 1, "the parent's exit undid its own adjustment")
    }

}
