@testable import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// mq_notify (SPEC M2): one registrant per queue, one-shot, EBUSY for another
/// process, removed when the registrant exits.
@Suite("POSIX message queue notification")
struct MessageQueueNotificationTests {
    @Test("a registered process gets its signal (SI_MESGQ, sender pid, value) when a message reaches the empty queue; others get EBUSY until then")
    func signalBetweenProcesses() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .writeOnly, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            let registrant = try PeerSession("mq-notify-signal", [name, "42"])
            #expect(try registrant.line() == "registered")

            let busy = #expect(throws: IPCError.self) { try queue.registerNotification(.signal(SIGUSR2)) }
            #expect(busy?.errno == .resourceBusy)
            #expect(busy?.operation == "mq_notify")

            try queue.send(Array("ding".utf8))
            #expect(try registrant.line() == "\(SI_MESGQ) \(getpid()) 42")

            // One-shot: the registration went with the notification, while the
            // registrant is still alive.
            try queue.registerNotification(.signal(SIGUSR2))
            try queue.removeNotification()
            #expect(try registrant.finish() == .exited(0))
            let reader = try PosixMessageQueue.open(name, access: .readOnly)
            _ = try reader.receive()
        }
    }

    @Test("exit removes a registration (the registrant's descriptor is closed)")
    func exitRemovesRegistration() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            let registrant = try PeerSession("mq-notify-register", [name])
            #expect(try registrant.line() == "registered")
            let busy = #expect(throws: IPCError.self) { try queue.registerNotification(.thread {}) }
            #expect(busy?.errno == .resourceBusy)
            #expect(try registrant.finish() == .exited(0))
            try queue.registerNotification(.signal(SIGUSR2))
            try queue.removeNotification()
        }
    }

    @Test("a removed registration lets another process register; this process registering twice is EBUSY")
    func removal() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            try queue.registerNotification(.signal(SIGUSR2))
            let twice = #expect(throws: IPCError.self) { try queue.registerNotification(.signal(SIGUSR2)) }
            #expect(twice?.errno == .resourceBusy)
            try queue.removeNotification()
            let registrant = try PeerSession("mq-notify-register", [name])
            #expect(try registrant.line() == "registered")
            #expect(try registrant.finish() == .exited(0))
        }
    }

    @Test("a thread notification runs its handler once when another process sends to the empty queue, on a thread named ipc-mq-notify with the library threads' mask",
          .timeLimit(.minutes(1)),
          .disabledUnderThreadSanitizer("glibc starts the SIGEV_THREAD threads itself (mq_notify's helper thread, with its internal pthread_create), unseen by TSan's interceptors; the first allocation on them crashes TSan's allocator (SIGSEGV)"))
    func threadNotification() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, access: .readOnly, maxMessages: 2, messageSize: 16)
            defer { TestObjects.remove(.queue(name)) }
            let pipe = try Pipe()
            let signalled = pipe.writer.descriptor.rawValue
            try queue.registerNotification(.thread {
                let name = (try? InventoryText.read("/proc/thread-self/comm")) ?? ""
                var mask = sigset_t()
                pthread_sigmask(SIG_SETMASK, nil, &mask)
                let libraryThread = name == "ipc-mq-notify\n" && sigismember(&mask, SIGUSR1) == 1 && sigismember(&mask, SIGBUS) == 0
                var byte: UInt8 = libraryThread ? 1 : 2
                _ = write(signalled, &byte, 1)
            })
            #expect(try TestPeer.run(TestPeer.spawn("mq-send", name, "3", "tick")).status == .exited(0))
            var byte: UInt8 = 0
            let count = try withUnsafeMutableBytes(of: &byte) { try pipe.reader.read(into: $0, until: .after(.seconds(30))) }
            #expect(count == 1 && byte == 1)
            // One-shot: registering again is allowed now.
            try queue.registerNotification(.signal(SIGUSR2))
            try queue.removeNotification()
            #expect(try queue.receive() == .init(bytes: Array("tick".utf8), priority: 3))
        }
    }

    @Test("a signal number out of range is EINVAL before the call")
    func invalidSignal() throws {
        try TestObjects.withQueueName { name in
            let queue = try PosixMessageQueue.create(name, maxMessages: 1, messageSize: 8)
            defer { TestObjects.remove(.queue(name)) }
            for signal: CInt in [0, -1, 65, 1000] {
                let error = #expect(throws: IPCError.self) { try queue.registerNotification(.signal(signal)) }
                #expect(error?.errno == .invalidArgument)
            }
        }
    }
}
