import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ipc shm … --sysv` (SPEC H4), run as a process.
@Suite("ipc shm --sysv")
struct SystemVSharedMemoryCommandTests {
    @Test("create prints the id; write from stdin, read raw bytes, stat (text and JSON), rm")
    func roundTrip() throws {
        let key = TestObjects.systemVKey()
        let create = try IPCTool.run(["shm", "create", "--sysv", "--key", key.description, "--size", "4096"])
        #expect(create.status == .exited(0), "\(create.stderr)")
        let id = try #require(Int32(create.stdout.trimmingCharacters(in: .newlines)))
        defer { TestObjects.remove(.systemV(.sharedMemory, id: id)) }
        let segment = try SystemVSharedMemory.open(key: key)
        #expect(segment.id == id)

        let payload: [UInt8] = Array("binary\u{0}bytes\n".utf8) + [0xFF, 0x00, 0x80]
        let write = try IPCTool.run(["shm", "write", "--sysv", "--key", key.description, "--offset", "100"], input: payload)
        #expect(write.status == .exited(0), "\(write.stderr)")
        #expect(try segment.attach().mapping.read(count: payload.count, from: 100) == payload, "the library sees the CLI's bytes")

        let read = try IPCTool.run(["shm", "read", "--sysv", "--id", "\(id)", "--offset", "100", "--length", "\(payload.count)"], input: [])
        #expect(read.status == .exited(0))
        #expect(read.stdout == payload, "raw bytes, nothing added")
        #expect(try IPCTool.run(["shm", "read", "--sysv", "--id", "\(id)"], input: []).stdout.count == 4096)

        let attachment = try segment.attach()
        let stat = try IPCTool.run(["shm", "stat", "--sysv", "--key", key.description])
        #expect(stat.status == .exited(0))
        for line in ["id: \(id)", "key: \(key)", "size: 4096", "nattch: 1", "cpid: \(create.pid)", "lpid: \(getpid())",
                     "owner: uid \(getuid()) gid \(getgid())", "mode: 0600", "marked for removal: no"] {
            #expect(stat.stdout.contains(line + "\n"), "\(line) in \(stat.stdout)")
        }
        #expect(stat.stdout.contains("atime: ") && stat.stdout.contains("dtime: ") && stat.stdout.contains("ctime: "))
        let json = try IPCTool.run(["shm", "stat", "--sysv", "--id", "\(id)", "--json"])
        for member in ["\"size\": 4096", "\"nattch\": 1", "\"cpid\": \(create.pid)", "\"mode\": \"0600\"", "\"dest\": false"] {
            #expect(json.stdout.contains(member), "\(member) in \(json.stdout)")
        }

        #expect(try IPCTool.run(["shm", "rm", "--sysv", "--key", key.description]).status == .exited(0))
        #expect(try segment.status().isMarkedForRemoval, "still attached here")
        let marked = try IPCTool.run(["shm", "stat", "--sysv", "--id", "\(id)"])
        #expect(marked.stdout.contains("key: 0x00000000\n") && marked.stdout.contains("marked for removal: yes\n"), "\(marked.stdout)")
        try attachment.detach()
        #expect(!sysvipcListsSegment(id))
    }

    @Test("--path with --proj names a segment by its ftok key; --mode sets the bits")
    func ftokAddressAndMode() throws {
        let path = TestObjects.temporaryPath("ipct-ftok")
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)
        defer { TestObjects.remove(.file(path)) }
        let key = try IPCKey(path: FilePath(path), projectID: 7)
        let create = try IPCTool.run(["shm", "create", "--sysv", "--path", path, "--proj", "7", "--size", "64", "--mode", "640"])
        #expect(create.status == .exited(0), "\(create.stderr)")
        let id = try #require(Int32(create.stdout.trimmingCharacters(in: .newlines)))
        defer { TestObjects.remove(.systemV(.sharedMemory, id: id)) }
        #expect(try SystemVSharedMemory.open(key: key).id == id)
        #expect(try SystemVSharedMemory(id: id).permissions().mode.rawValue == 0o640, "no umask for System V")
        let write = try IPCTool.run(["shm", "write", "--sysv", "--path", path, "--proj", "7"], input: Array("by path".utf8))
        #expect(write.status == .exited(0), "\(write.stderr)")
        #expect(try IPCTool.run(["shm", "read", "--sysv", "--key", key.description, "--length", "7"], input: []).stdout == Array("by path".utf8))
        #expect(try IPCTool.run(["shm", "rm", "--sysv", "--id", "\(id)"]).status == .exited(0))
        #expect(!sysvipcListsSegment(id))
    }

    @Test("errors: EEXIST, ENOENT, bad sizes, data that does not fit, and clear usage errors")
    func errors() throws {
        let key = TestObjects.systemVKey()
        let create = try IPCTool.run(["shm", "create", "--sysv", "--key", key.description, "--size", "8"])
        let id = try #require(Int32(create.stdout.trimmingCharacters(in: .newlines)))
        defer { TestObjects.remove(.systemV(.sharedMemory, id: id)) }

        let exists = try IPCTool.run(["shm", "create", "--sysv", "--key", key.description, "--size", "8"])
        #expect(exists.status == .exited(1))
        #expect(exists.stderr.contains("shmget(key \(key)): file exists (EEXIST)"), "\(exists.stderr)")
        let missing = try IPCTool.run(["shm", "stat", "--sysv", "--key", TestObjects.systemVKey().description])
        #expect(missing.status == .exited(1) && missing.stderr.contains("(ENOENT)"), "\(missing.stderr)")
        let zero = try IPCTool.run(["shm", "create", "--sysv", "--key", TestObjects.systemVKey().description, "--size", "0"])
        #expect(zero.status == .exited(1) && zero.stderr.contains("(EINVAL)") && zero.stderr.contains("SHMMIN"), "\(zero.stderr)")
        let tooBig = try IPCTool.run(["shm", "write", "--sysv", "--id", "\(id)"], input: Array("0123456789".utf8))
        #expect(tooBig.status == .exited(1) && tooBig.stderr.contains("stdin has more than 8 bytes"), "\(tooBig.stderr)")
        let past = try IPCTool.run(["shm", "read", "--sysv", "--id", "\(id)", "--offset", "4", "--length", "8"], input: [])
        #expect(past.status == .exited(1) && past.stderr.contains("past the end"), "\(past.stderr)")
        for arguments in [["read", "--offset", "1", "--length", "\(Int.max)"], ["write", "--offset", "\(Int.max)"]] {
            let huge = try IPCTool.run(["shm"] + arguments + ["--sysv", "--id", "\(id)"], input: Array("x".utf8))
            #expect(huge.status == .exited(1) && (huge.stderr.contains("past the end") || huge.stderr.contains("do not fit")), "no overflow trap: \(huge.stderr)")
        }

        for (arguments, message) in [
            (["shm", "write", "--sysv", "--id", "\(id)", "--grow"], "--grow does not apply"),
            (["shm", "stat", "/name", "--sysv", "--id", "\(id)"], "with --sysv, name the segment"),
            (["shm", "stat", "--key", key.description], "add --sysv"),
            (["shm", "stat", "--sysv"], "exactly one of --key, --id"),
            (["shm", "stat", "--sysv", "--key", key.description, "--id", "\(id)"], "exactly one of --key, --id"),
            (["shm", "create", "--sysv", "--id", "\(id)", "--size", "8"], "--id names an existing object"),
            (["shm", "rm"], "missing the name"),
        ] {
            let run = try IPCTool.run(arguments)
            #expect(run.status == .exited(64), "\(arguments)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        #expect(sysvipcListsSegment(id), "nothing above removed it")
    }
}
