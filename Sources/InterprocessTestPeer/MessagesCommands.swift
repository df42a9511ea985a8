import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the POSIX message queue tests. Lines go to stdout unbuffered
// (`say`), so a test can hand-shake on them; an expected failure prints the errno
// name (`EACCES`) and exits 0.

extension PeerCommands {
    static let messages: [String: PeerCommand] = [
        // mq-open NAME ACCESS(r|w|rw): print "ok" or the errno name.
        "mq-open": { args in
            let access: PosixMessageQueue.Access = args[1] == "r" ? .readOnly : args[1] == "w" ? .writeOnly : .readWrite
            do throws(IPCError) {
                let queue = try PosixMessageQueue.open(args[0], access: access)
                try queue.close()
                say("ok")
            } catch {
                say(error.errnoName)
            }
            return 0
        },
        // mq-send NAME PRIORITY TEXT: send one message.
        "mq-send": { args in
            let queue = try PosixMessageQueue.open(args[0], access: .writeOnly)
            try queue.send(Array(args[2].utf8), priority: UInt32(args[1])!)
            return 0
        },
        // mq-send-script NAME: for each stdin line "PRIORITY TEXT", send TEXT and print "ok".
        "mq-send-script": { args in
            let queue = try PosixMessageQueue.open(args[0], access: .writeOnly)
            while let line = readLine(from: 0) {
                guard let space = line.firstIndex(of: " "), let priority = UInt32(line[..<space]) else { return 65 }
                try queue.send(Array(line[line.index(after: space)...].utf8), priority: priority)
                say("ok")
            }
            return 0
        },
        // mq-receive NAME [SECONDS]: receive one message (within SECONDS) and print
        // "PRIORITY TEXT", or "ETIMEDOUT MILLISECONDS".
        "mq-receive": { args in
            let queue = try PosixMessageQueue.open(args[0], access: .readOnly)
            let start = Deadline.now
            do throws(IPCError) {
                let message: PosixMessageQueue.Message
                if args.count > 1, let seconds = Double(args[1]) {
                    message = try queue.receive(until: .after(.milliseconds(Int64(seconds * 1000))))
                } else {
                    message = try queue.receive()
                }
                say(describe(message))
            } catch {
                say("\(error.errnoName) \((Deadline.now.nanoseconds - start.nanoseconds) / 1_000_000)")
            }
            return 0
        },
        // mq-receive-fd FD: adopt the inherited queue descriptor FD, receive one
        // message and print "PRIORITY TEXT".
        "mq-receive-fd": { args in
            let queue = try PosixMessageQueue(adopting: OwnedDescriptor(inheritedNumber: CInt(args[0])))
            say(describe(try queue.receive(until: .after(.seconds(30)))))
            return 0
        },
        // mq-create-and-leave NAME TEXT: create the queue (4 messages of 64 bytes),
        // send TEXT at priority 3, and exit without closing or removing it.
        "mq-create-and-leave": { args in
            let queue = try PosixMessageQueue.create(args[0], maxMessages: 4, messageSize: 64)
            try queue.send(Array(args[1].utf8), priority: 3)
            exit(0)
        },
        // mq-hold NAME: open the queue, print "open", wait for end of file on stdin,
        // then receive one message and print "PRIORITY TEXT".
        "mq-hold": { args in
            let queue = try PosixMessageQueue.open(args[0], access: .readOnly)
            say("open")
            while readLine(from: 0) != nil {}
            say(describe(try queue.receive(until: .after(.seconds(30)))))
            return 0
        },
        // mq-exec-check NAME: open the queue, then exec `fd-state N` on its descriptor
        // number (no Spawn involved: only close-on-exec can close it).
        "mq-exec-check": { args in
            let queue = try PosixMessageQueue.open(args[0], access: .readOnly)
            let number = String(queue.descriptor.rawValue)
            let argv = [CommandLine.arguments[0], "fd-state", number]
            var pointers = argv.map { strdup($0) } + [nil]
            execv("/proc/self/exe", &pointers)
            say("exec failed: \(errno)")
            return 1
        },
        // fd-state N: print "open" or "closed".
        "fd-state": { args in
            say(fcntl(CInt(args[0]), F_GETFD) >= 0 ? "open" : "closed")
            return 0
        },
        // mq-notify-register NAME: register for a SIGUSR1 notification, print
        // "registered", wait for end of file on stdin and exit without removing it.
        "mq-notify-register": { args in
            blockSignal(SIGUSR1)
            let queue = try PosixMessageQueue.open(args[0], access: .readOnly)
            try queue.registerNotification(.signal(SIGUSR1, value: 7))
            say("registered")
            while readLine(from: 0) != nil {}
            return 0
        },
        // mq-notify-signal NAME VALUE: register for SIGUSR1 with VALUE, print
        // "registered", wait for the signal and print "SI_CODE SENDER_PID VALUE",
        // then wait for end of file on stdin.
        "mq-notify-signal": { args in
            blockSignal(SIGUSR1)
            let queue = try PosixMessageQueue.open(args[0], access: .readOnly)
            try queue.registerNotification(.signal(SIGUSR1, value: CInt(args[1])))
            say("registered")
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 30, tv_nsec: 0)
            guard sigtimedwait(&set, &info, &timeout) == SIGUSR1 else {
                say("no signal: \(errno)")
                return 1
            }
            say("\(info.si_code) \(info._sifields._rt.si_pid) \(info._sifields._rt.si_sigval.sival_int)")
            while readLine(from: 0) != nil {}
            withExtendedLifetime(queue) {}
            return 0
        },
    ]
}

private func describe(_ message: PosixMessageQueue.Message) -> String {
    "\(message.priority) \(String(decoding: message.bytes, as: UTF8.self))"
}

/// One line from `fd` without its newline; nil at end of file.
private func readLine(from fd: CInt) -> String? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while true {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
        if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
        line.append(byte)
    }
}

private func blockSignal(_ signal: CInt) {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, signal)
    pthread_sigmask(SIG_BLOCK, &set, nil)
}
