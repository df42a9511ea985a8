@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether /dev/shm holds `file` (the name without its slash).
func devShmContains(_ file: String) -> Bool { access("/dev/shm/" + file, F_OK) == 0 }

@Suite("POSIX shared memory objects (H3, L3)")
struct SharedMemoryTests {
    @Test("create is exclusive, open finds it, size and fstat info are right, unlink removes the name")
    func createOpenInfoUnlink() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 8192)
        #expect(try memory.size == 8192)
        let info = try memory.info()
        #expect(info.size == 8192)
        #expect(info.userID == getuid())
        #expect(info.groupID == getgid())
        #expect(info.permissions == [.ownerRead, .ownerWrite], "0600 by default")
        #expect(devShmContains(String(name.dropFirst())))

        let again = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.create(name) }
        #expect(again?.errno == .fileExists)
        #expect(again?.description.hasPrefix("shm_open(\"\(name)\"): file exists (EEXIST)") == true)

        let opened = try PosixSharedMemory.open(name)
        try opened.resize(to: 100)
        #expect(try memory.size == 100, "both descriptors see one object")

        try PosixSharedMemory.unlink(name)
        #expect(!devShmContains(String(name.dropFirst())))
        let missing = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.open(name) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
        let twice = #expect(throws: IPCError.self) { try PosixSharedMemory.unlink(name) }
        #expect(twice?.errno == .noSuchFileOrDirectory)
    }

    @Test("openOrCreate creates once (with its size), then opens the existing object as it is")
    func openOrCreate() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let first = try PosixSharedMemory.openOrCreate(name, size: 4096, permissions: [.ownerRead, .ownerWrite, .groupRead])
        #expect(try first.info().permissions == [.ownerRead, .ownerWrite, .groupRead])
        try first.resize(to: 12288)
        let second = try PosixSharedMemory.openOrCreate(name, size: 4096)
        #expect(try second.size == 12288, "an existing object keeps its size")
    }

    @Test("descriptors are close-on-exec: exec does not pass them on (L3)")
    func closeOnExec() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 4096)
        #expect(try memory.descriptor.isCloseOnExec)
        let anonymous = try PosixSharedMemory.anonymous(size: 4096)
        #expect(try anonymous.descriptor.isCloseOnExec)
    }

    @Test("an object outlives the process that created it, until unlinked (L3)")
    func persistence() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        #expect(try TestPeer.run(TestPeer.spawn("shm-create-and-exit", name, "still here")).status == .exited(0))
        let memory = try PosixSharedMemory.open(name)
        #expect(try memory.map().read(count: 10, from: 0) == Array("still here".utf8))
    }

    @Test("after unlink, processes that have the object keep using it; the name is free for a new one")
    func unlinkWhileOpen() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let memory = try PosixSharedMemory.create(name, size: 4096)
        let mapping = try memory.map()
        try mapping.write(Array("old".utf8), at: 0)
        try PosixSharedMemory.unlink(name)
        #expect(try mapping.read(count: 3, from: 0) == Array("old".utf8))
        let fresh = try PosixSharedMemory.create(name, size: 4096)
        #expect(try fresh.map().load(UInt8.self, at: 0) == 0, "a new object, not the unlinked one")
        try memory.resize(to: 8192)
        #expect(try fresh.size == 4096)
    }

    @Test("a 0600 object refuses an unprivileged process (EACCES)", .enabled(if: getuid() == 0, "needs root to switch users"))
    func permissionDenied() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        _ = try PosixSharedMemory.create(name, size: 4096)
        #expect(try TestPeer.run(TestPeer.spawn("as-user", "65534", "shm-open-status", name)).output == "EACCES")
        #expect(try TestPeer.run(TestPeer.spawn("shm-open-status", name)).output == "ok")
    }

    @Test("bad names are refused before the call, with the reason")
    func badNames() throws {
        for (name, errno) in [("noslash", Errno.invalidArgument), ("/a/b", .invalidArgument), ("/", .invalidArgument),
                              ("/..", .invalidArgument), ("/" + String(repeating: "x", count: 254), .fileNameTooLong)] {
            let error = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.create(name, size: 4096) }
            #expect(error?.errno == errno, "\(name)")
            #expect(error?.detail != nil)
        }
        let base = TestObjects.name("ipct-long")
        let longest = "/" + base + String(repeating: "y", count: PosixIPCName.sharedMemoryMaximum - base.count)
        defer { TestObjects.remove(.sharedMemory(longest)) }
        _ = try PosixSharedMemory.create(longest, size: 1)
        try PosixSharedMemory.unlink(longest)
        let negative = #expect(throws: IPCError.self) { _ = try PosixSharedMemory.anonymous(size: -1) }
        #expect(negative?.errno == .invalidArgument)
    }

    #if IPC_FAULT_INJECTION
    @Test("a failed ftruncate after create removes the new name")
    func createRollsBack() throws {
        let name = TestObjects.sharedMemoryName()
        let error = #expect(throws: IPCError.self) {
            try FaultInjection.inject(ENOSPC, into: "ftruncate") { () throws(IPCError) in
                _ = try PosixSharedMemory.create(name, size: 4096)
            }
        }
        #expect(error?.errno == .noSpace)
        #expect(!devShmContains(String(name.dropFirst())))
    }
    #endif
}
