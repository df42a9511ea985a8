import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// A peer command: its arguments in, the exit status out.
typealias PeerCommand = @Sendable ([String]) throws -> Int32

enum PeerCommands {
    static var all: [String: PeerCommand] {
        var table = basic
        table.merge(processes) { a, _ in a }
        table.merge(crashing) { a, _ in a }
        table.merge(streams) { a, _ in a }
        table.merge(sockets) { a, _ in a }
        table.merge(messages) { a, _ in a }
        table.merge(memory) { a, _ in a }
        table.merge(placement) { a, _ in a }
        table.merge(limits) { a, _ in a }
        table.merge(systemV) { a, _ in a }
        table.merge(systemVMessages) { a, _ in a }
        table.merge(systemVSemaphores) { a, _ in a }
        table.merge(systemVMemory) { a, _ in a }
        table.merge(inventory) { a, _ in a }
        table.merge(threads) { a, _ in a }
        table.merge(locks) { a, _ in a }
        table.merge(spinBarrier) { a, _ in a }
        table.merge(readWriteLocks) { a, _ in a }
        table.merge(posixThreads) { a, _ in a }
        table.merge(recordLocks) { a, _ in a }
        table.merge(lockFiles) { a, _ in a }
        table.merge(lockChurn) { a, _ in a }
        table.merge(recordLockLifetime) { a, _ in a }
        table.merge(signalStreams) { a, _ in a }
        table.merge(signalDispatch) { a, _ in a }
        table.merge(channels) { a, _ in a }
        table.merge(doors) { a, _ in a }
        table.merge(doorFork) { a, _ in a }
        table.merge(daemons) { a, _ in a }
        return table
    }

    /// Commands any test may use.
    static let basic: [String: PeerCommand] = [
        // exit STATUS
        "exit": { args in Int32(args.first ?? "0") ?? 0 },
        // echo-fd IN OUT: copy IN to OUT until end of file.
        "copy-fd": { args in
            let input = FileDescriptorNumber(args[0]), output = FileDescriptorNumber(args[1])
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(input, &buffer, buffer.count)
                if n <= 0 { return n == 0 ? 0 : 1 }
                var done = 0
                while done < n {
                    let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + done, n - done) }
                    if w <= 0 { return 2 }
                    done += w
                }
            }
        },
        // as-user UID COMMAND ARGS…: drop to UID (and its gid) and run another command.
        "as-user": { args in
            let uid = uid_t(args[0])!
            if setgroups(0, nil) != 0 || setgid(gid_t(uid)) != 0 || setuid(uid) != 0 { return 77 }
            guard let command = PeerCommands.all[args[1]] else { return 64 }
            return try command(Array(args.dropFirst(2)))
        },
        // pwd: print the working directory.
        "pwd": { _ in
            var buffer = [CChar](repeating: 0, count: 4096)
            guard getcwd(&buffer, buffer.count) != nil else { return 1 }
            print(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            return 0
        },
        // env NAME: print the variable, or exit 1 when unset.
        "env": { args in
            guard let value = getenv(args[0]) else { return 1 }
            print(String(cString: value))
            return 0
        },
        // open-fds: print the open descriptor numbers, one line, sorted.
        "open-fds": { _ in
            let numbers = openDescriptorNumbers()
            print(numbers.map(String.init).joined(separator: " "))
            return 0
        },
    ]
}

typealias FileDescriptorNumber = CInt
extension CInt {
    init(_ text: String) { self = CInt(text, radix: 10)! }
}

/// The descriptors open in this process, from /proc/self/fd.
func openDescriptorNumbers() -> [CInt] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    let own = dirfd(dir)
    var result: [CInt] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if let n = CInt(name, radix: 10), n != own { result.append(n) }
    }
    return result.sorted()
}

enum FileHandleStandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
    }
}

/// Runs `body`; prints ok, or the errno name of the error it threw.
func reportOutcome(_ body: () throws(IPCError) -> Void) -> Int32 {
    do {
        try body()
        print("ok")
    } catch {
        print(error.errnoName)
    }
    return 0
}

/// Writes `text` and a newline to stdout at once (no stdio buffering).
/// A `waitpid` status as one number: the exit status, or 128 + the signal that
/// ended the process (as a shell reports it).
func shellStatus(_ status: CInt) -> CInt {
    (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + done, $0.count - done) }
        if n <= 0 { return }
        done += n
    }
}
