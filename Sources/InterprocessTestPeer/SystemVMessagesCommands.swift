import Interprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for System V message queues. Queues are named by identifier (ID)
// or key (KEY, as `IPCKey(parsing:)` reads it). Lines go to stdout unbuffered, so a
// test can hand-shake on them; an expected failure prints the errno name and exits 0.

extension PeerCommands {
    static let systemVMessages: [String: PeerCommand] = [
        // svmsg-open KEY: print "ok ID" or the errno name.
        "svmsg-open": { args in
            do throws(IPCError) {
                let queue = try SystemVMessageQueue.open(key: IPCKey(parsing: args[0]))
                say("ok \(queue.id)")
            } catch {
                say(error.errnoName)
            }
            return 0
        },
        // svmsg-send ID TYPE TEXT: send, waiting while the queue is full; print "ok"
        // or the errno name (EIDRM when the queue is removed meanwhile).
        "svmsg-send": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            do throws(IPCError) {
                try queue.send(Array(args[2].utf8), type: Int(args[1])!)
                say("ok")
            } catch {
                say(error.errnoName)
            }
            return 0
        },
        // svmsg-try-send ID TYPE TEXT: print "ok", "full" or the errno name.
        "svmsg-try-send": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            do throws(IPCError) {
                say(try queue.trySend(Array(args[2].utf8), type: Int(args[1])!) ? "ok" : "full")
            } catch {
                say(error.errnoName)
            }
            return 0
        },
        // svmsg-send-many ID TYPE:TEXT…: send each in order, then print "ok".
        "svmsg-send-many": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            for item in args.dropFirst() {
                let parts = item.split(separator: ":", maxSplits: 1)
                try queue.send(Array(parts[1].utf8), type: Int(parts[0])!)
            }
            say("ok")
            return 0
        },
        // svmsg-recv ID TYPE [SECONDS]: receive one message (within SECONDS); print
        // "TYPE TEXT", or "ERRNO MILLISECONDS".
        "svmsg-recv": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            let type = Int(args[1])!
            let start = Deadline.now
            do throws(IPCError) {
                let message: SystemVMessageQueue.Message
                if args.count > 2, let seconds = Double(args[2]) {
                    message = try queue.receive(type: type, until: .after(.milliseconds(Int64(seconds * 1000))))
                } else {
                    message = try queue.receive(type: type)
                }
                say("\(message.type) \(String(decoding: message.bytes, as: UTF8.self))")
            } catch {
                say("\(error.errnoName) \((Deadline.now.nanoseconds - start.nanoseconds) / 1_000_000)")
            }
            return 0
        },
        // svmsg-recv-signalled ID: install a SIGUSR1 handler (without SA_RESTART: the
        // C msgrcv would return EINTR), receive one message, then print
        // "signals=N TYPE TEXT" with the number of SIGUSR1 handled meanwhile.
        "svmsg-recv-signalled": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in SignalsHandled.count.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(SIGUSR1, &action, nil)
            let message = try queue.receive()
            say("signals=\(SignalsHandled.count.load(ordering: .relaxed)) \(message.type) \(String(decoding: message.bytes, as: UTF8.self))")
            return 0
        },
        // svmsg-try-recv ID TYPE…: for each TYPE, receive without waiting and print
        // "TYPE TEXT", "none", or the errno name.
        "svmsg-try-recv": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            for type in args.dropFirst() {
                do throws(IPCError) {
                    if let message = try queue.tryReceive(type: Int(type)!) {
                        say("\(message.type) \(String(decoding: message.bytes, as: UTF8.self))")
                    } else {
                        say("none")
                    }
                } catch {
                    say(error.errnoName)
                }
            }
            return 0
        },
        // svmsg-create-and-leave KEY TYPE TEXT: create the queue (0600), send TEXT with
        // TYPE, print the id and exit without removing it.
        "svmsg-create-and-leave": { args in
            let queue = try SystemVMessageQueue.create(key: IPCKey(parsing: args[0]))
            try queue.send(Array(args[2].utf8), type: Int(args[1])!)
            say("\(queue.id)")
            exit(0)
        },
        // svmsg-set-max ID BYTES: setMaximumBytes; print "ok" or the errno name.
        "svmsg-set-max": { args in
            let queue = try SystemVMessageQueue(id: Int32(args[0])!)
            do throws(IPCError) {
                try queue.setMaximumBytes(Int(args[1])!)
                say("ok")
            } catch {
                say(error.errnoName)
            }
            return 0
        },
    ]
}

private enum SignalsHandled {
    static let count = Atomic<Int>(0)
}
