import CInterprocess
import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for doors (SPEC R1–R6). The server's procedure reads its
// arguments as text `OPERATION[:REST]`; DoorTests call it from the test process
// or from `door-client` peers (which may run as another user).

/// The futex word a held call waits on; `release` on stdin bumps it.
nonisolated(unsafe) private let releaseWord: UnsafeMutablePointer<UInt32> = {
    let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    word.initialize(to: 0)
    return word
}()

private func atomicRelease() -> UnsafeMutablePointer<Atomic<UInt32>> {
    UnsafeMutableRawPointer(releaseWord).assumingMemoryBound(to: Atomic<UInt32>.self)
}

/// The test server's procedure.
private func testProcedure(_ call: inout DoorCall) throws {
    let text = String(decoding: call.argumentBytes, as: UTF8.self)
    let operation = text.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
    let rest = text.dropFirst(operation.count + 1)
    switch operation {
    case "echo":
        try call.reply(call.argumentBytes, descriptors: call.descriptors.takeAll())
    case "whoami":
        let who = call.caller
        try call.reply(Array("\(who.pid) \(who.realUserID) \(who.effectiveUserID) \(who.realGroupID) \(who.effectiveGroupID)".utf8))
    case "secret":
        // A file no other process can open: unnamed, then only this descriptor.
        let fd = open("/tmp", cipc_o_tmpfile() | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IPCError(.ioError, operation: "open(O_TMPFILE)") }
        let secret = "only the server could open this"
        _ = secret.withCString { write(fd, $0, strlen($0)) }
        _ = lseek(fd, 0, SEEK_SET)
        var descriptors = OwnedDescriptors()
        descriptors.append(OwnedDescriptor(adopting: FileDescriptor(rawValue: fd)))
        try call.reply(Array("secret".utf8), descriptors: descriptors)
    case "write":
        guard let target = call.descriptors.takeNext() else { throw IPCError(.badFileDescriptor, operation: "write", detail: "no descriptor came") }
        let bytes = Array(rest.utf8)
        _ = bytes.withUnsafeBytes { write(target.rawValue, $0.baseAddress, $0.count) }
        var descriptors = OwnedDescriptors()
        descriptors.append(target)
        try call.reply(Array("written".utf8), descriptors: descriptors)
    case "fail":
        throw IPCError(.invalidArgument, operation: "test procedure", detail: "asked to fail")
    case "size":
        try call.reply(count: Int(rest) ?? 0) { $0.initializeMemory(as: UInt8.self, repeating: 0x5A) }
    case "hold":
        let seen = atomicRelease().pointee.load(ordering: .acquiring)
        say("held")
        while atomicRelease().pointee.load(ordering: .acquiring) == seen {
            try? Futex.wait(releaseWord, expecting: seen, until: nil)
        }
        try call.reply(Array("released".utf8))
    case "hang":
        say("in-call")
        while true { pause() }  // killed here by the test
    default:
        throw IPCError(.invalidArgument, operation: "test procedure", detail: "no operation \(operation)")
    }
}

extension PeerCommands {
    static let doors: [String: PeerCommand] = [
        // door-serve PATH MODE POLICY: attach the test door at PATH (socket mode,
        // octal) with POLICY `any` or `uid:N`; print "ready PID". Then stdin lines:
        // `revoke` (prints "revoked"), `release` (ends a held call), `detach`
        // (prints "detached"); end of input closes the door and exits 0. Prints
        // "unreferenced" each time the last client goes.
        "door-serve": { args in
            let mode = FilePermissions(rawValue: CModeT(args[1], radix: 8)!)
            let access: DoorAccessPolicy = args[2] == "any" ? .anyone : .users([uid_t(args[2].dropFirst(4))!])
            let options = DoorOptions(maximumMessageSize: 4096, access: access, unreferenced: { say("unreferenced") })
            let door = try Door(name: "test-door", cookie: 42, options: options, procedure: testProcedure)
            try door.attach(to: FilePath(args[0]), mode: mode, replacingStaleSocket: true)
            say("ready \(getpid())")
            while let line = readLine() {
                switch line {
                case "revoke":
                    door.revoke()
                    say("revoked")
                case "release":
                    atomicRelease().pointee.wrappingAdd(1, ordering: .releasing)
                    _ = try? Futex.wake(releaseWord, count: Int32.max)
                case "detach":
                    door.detach()
                    say("detached")
                default:
                    say("unknown \(line)")
                }
            }
            door.close()
            return 0
        },
        // door-client PATH OPERATION…: open the door, call each operation, print
        // "ok RESULT" or "error ERRNO OPERATION" for each (an open that fails
        // prints "error ERRNO open" and exits 1).
        "door-client": { args in
            var client: DoorClient
            do throws(IPCError) {
                client = try DoorClient(path: FilePath(args[0]))
            } catch {
                say("error \(error.errnoName) open")
                return 1
            }
            for operation in args.dropFirst() {
                do throws(IPCError) {
                    let result = try client.call(Array(operation.utf8), timeout: .seconds(30))
                    say("ok " + String(decoding: result.bytes, as: UTF8.self))
                } catch {
                    say("error \(error.errnoName) \(error.operation)")
                }
            }
            return 0
        },
        // door-call-loop PATH: open the door, print "calling", then call `echo:N`
        // forever, checking each result ("bad N" and exit 1 on a wrong one).
        "door-call-loop": { args in
            var client = try DoorClient(path: FilePath(args[0]))
            say("calling")
            var sequence = 0
            while true {
                let arguments = Array("echo:\(sequence)".utf8)
                let result = try client.call(arguments, timeout: .seconds(30))
                if result.bytes != arguments {
                    say("bad \(sequence)")
                    return 1
                }
                sequence += 1
            }
        },
    ]
}

extension PeerCommands {
    static let doorFork: [String: PeerCommand] = [
        // door-fork PATH: open the door, call, fork. The child calls on the
        // inherited session and reports the outcome through a pipe, then _exits;
        // the parent calls again. Prints "child OUTCOME parent OUTCOME".
        "door-fork": { args in
            var client = try DoorClient(path: FilePath(args[0]))
            _ = try client.call(Array("echo:before".utf8))
            var report: [CInt] = [-1, -1]
            guard pipe(&report) == 0 else { return 1 }
            let child = forkCalling(&client, report: report[1])
            guard child > 0 else { return 2 }
            close(report[1])
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = read(report[0], &buffer, buffer.count)
            var status: CInt = 0
            _ = waitpid(child, &status, 0)
            let parent = (try? client.call(Array("echo:after".utf8)).bytes) == Array("echo:after".utf8) ? "ok" : "failed"
            say("child \(String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)) parent \(parent)")
            return 0
        },
    ]
}

/// Forks; the child calls once on `client`, writes the outcome (`ok` or the errno
/// name) to `report` and `_exit`s without destroying anything of the parent's.
/// Returns the child's pid in the parent.
private func forkCalling(_ client: inout DoorClient, report: CInt) -> pid_t {
    let child = fork()
    if child != 0 { return child }
    let outcome: String
    do throws(IPCError) {
        _ = try client.call(Array("echo:child".utf8), timeout: .seconds(5))
        outcome = "ok"
    } catch {
        outcome = error.errnoName
    }
    _ = outcome.withCString { write(report, $0, strlen($0)) }
    _exit(0)
}
