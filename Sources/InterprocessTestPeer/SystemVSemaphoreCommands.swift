import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for System V semaphore sets.

extension PeerCommands {
    static let systemVSemaphores: [String: PeerCommand] = [
        // semset-op ID [hold] [timeout=MS] OP…: performs the operations (0:-1,
        // 1:+1u, 2:0n …) atomically, waiting as long as needed (or MS
        // milliseconds, with semtimedop), and prints ok, timeout, or the errno
        // name. With hold, then waits for its stdin to close before exiting (so a
        // test can kill it while it holds what it took).
        "semset-op": { args in
            var rest = args.dropFirst()
            var hold = false
            var timeout: Int?
            while let word = rest.first, word == "hold" || word.hasPrefix("timeout=") {
                if word == "hold" { hold = true } else { timeout = Int(word.dropFirst("timeout=".count)) }
                rest = rest.dropFirst()
            }
            let status = reportOutcomeOrTimeout { () throws(IPCError) in
                let set = try SystemVSemaphoreSet(id: CInt(args[0]))
                var operations: [SystemVSemaphoreSet.Operation] = []
                for text in rest { operations.append(try .init(parsing: text)) }
                if let timeout { return try set.perform(operations, timeout: .milliseconds(timeout)) }
                try set.perform(operations)
            }
            if hold { waitForEndOfInput() }
            return status
        },
        // semset-get ID MEMBER: prints the member's value (GETVAL) or the errno name.
        "semset-get": { args in
            do throws(IPCError) {
                print(try SystemVSemaphoreSet(id: CInt(args[0])).value(of: Int(args[1])!))
            } catch {
                print(error.errnoName)
            }
            return 0
        },
        // semset-create KEY COUNT V,V,…: creates and initialises a set; prints its id.
        "semset-create": { args in
            let values = args[2].split(separator: ",").map { Int($0)! }
            do throws(IPCError) {
                let set = try SystemVSemaphoreSet.create(key: IPCKey(parsing: args[0]), count: Int(args[1])!, initialValues: values)
                print(set.id)
            } catch {
                print(error.errnoName)
            }
            return 0
        },
        // semset-create-uninitialised KEY COUNT: creates a set with semget as any
        // creator does, prints its id, then, before initialising it, waits for its
        // stdin to close (a test kills it there: the creator that died half-way).
        "semset-create-uninitialised": { args in
            let key = try IPCKey(parsing: args[0])
            let id = semget(key.rawValue, CInt(args[1]), IPC_CREAT | IPC_EXCL | 0o600)
            if id == -1 { print(IPCError(Errno(rawValue: errno), operation: "semget").errnoName); return 0 }
            print(id)
            fflush(nil)
            waitForEndOfInput()
            return 0
        },
        // semset-open KEY MS: opens the set, waiting up to MS milliseconds for its
        // initialisation; prints ok and the values (ok 1,0,2) or the errno name.
        "semset-open": { args in
            do throws(IPCError) {
                let set = try SystemVSemaphoreSet.open(key: IPCKey(parsing: args[0]),
                                                       initialisationDeadline: .after(.milliseconds(Int(args[1])!)))
                print("ok " + (try set.values()).map(String.init).joined(separator: ","))
            } catch {
                print(error.errnoName)
            }
            return 0
        },
        // semset-open-or-create-take KEY COUNT V,V,…: prints ready and waits for a
        // line on stdin, then openOrCreate with these initial values and takes one
        // unit from member 0 without waiting; prints ok or the errno name.
        "semset-open-or-create-take": { args in
            let values = args[2].split(separator: ",").map { Int($0)! }
            // A barrier, so that the racers start together: ready, then wait for a line.
            say("ready")
            _ = readLine()
            return reportOutcome { () throws(IPCError) in
                let set = try SystemVSemaphoreSet.openOrCreate(key: IPCKey(parsing: args[0]), count: Int(args[1])!,
                                                               initialValues: values)
                if try !set.tryPerform(.take(from: 0)) {
                    throw IPCError(.resourceTemporarilyUnavailable, operation: "semop")
                }
            }
        },
    ]
}

/// Like `reportOutcome`, and prints timeout when `body` timed out (`ETIMEDOUT`).
private func reportOutcomeOrTimeout(_ body: () throws(IPCError) -> Void) -> Int32 {
    do {
        try body()
        print("ok")
    } catch {
        print(error.isTimeout ? "timeout" : error.errnoName)
    }
    fflush(nil)
    return 0
}

/// Reads stdin until end of file.
private func waitForEndOfInput() {
    var byte: UInt8 = 0
    while true {
        let n = read(0, &byte, 1)
        if n == 0 || (n < 0 && errno != EINTR) { return }
    }
}
