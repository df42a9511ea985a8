@testable import Interprocess
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Streams in this process use realtime signals nobody else here sends, each test
/// its own number: a watched signal stays the library's for the process's life.
@Suite("Signal streams (P8, M4)")
struct SignalStreamTests {
    let rt = Signals.realtime.lowerBound

    @Test("a signal sent with a value arrives with its number, value, sender pid and uid, in every stream of it")
    func payloadAndFanOut() throws {
        let signal = rt + 10
        let first = try SignalStream([signal]), second = try SignalStream([signal, rt + 11])
        try Signals.send(signal, to: getpid(), value: 42)
        let expected = ReceivedSignal(signal: signal, code: CInt(SI_QUEUE), senderPID: getpid(), senderUID: getuid(), value: 42)
        #expect(try first.receive(timeout: .seconds(30)) == expected)
        #expect(try second.receive(timeout: .seconds(30)) == expected)
        #expect(try first.tryReceive() == nil)
        #expect(first.signals == [signal] && second.signals == [signal, rt + 11])
    }

    @Test("kill carries no value; the timed form throws ETIMEDOUT; try returns nil when nothing came")
    func forms() async throws {
        let signal = rt + 12
        let stream = try SignalStream([signal])
        #expect(try stream.tryReceive() == nil)
        #expect(try timesOut { _ = try stream.receive(timeout: .milliseconds(20)) })
        try Signals.send(signal, to: getpid())
        let received = try await stream.receiveAsync()
        #expect(received.value == nil && received.code == CInt(SI_USER) && received.senderPID == getpid())
        try Signals.send(signal, to: getpid(), value: -1)
        #expect(try stream.receive().value == -1)
    }

    @Test("the async sequence yields each signal and ends when its task is cancelled")
    func sequence() async throws {
        let signal = rt + 13
        let stream = try SignalStream([signal])
        let taken = Atomic<Int>(0)
        let reader = Task { () throws -> Set<Int32> in
            var values: Set<Int32> = []
            for try await received in stream {
                values.insert(received.value ?? -1)
                taken.add(1, ordering: .releasing)
            }
            return values
        }
        for value in 0..<3 { try Signals.send(signal, to: getpid(), value: Int32(value)) }
        #expect(await eventually { taken.load(ordering: .acquiring) == 3 })
        reader.cancel()
        #expect(try await reader.value == [0, 1, 2])
    }

    @Test("more than bufferLimit untaken signals are dropped and counted")
    func bufferLimit() throws {
        let signal = rt + 14
        let stream = try SignalStream([signal], bufferLimit: 2)
        for value in 0..<5 { try Signals.send(signal, to: getpid(), value: Int32(value)) }
        #expect(eventually { stream.droppedCount == 3 })
        // Which two were kept depends on the order they arrived in (see the stream's
        // doc: this process has threads with the signal unblocked).
        let kept = try Set([stream.receive(timeout: .seconds(30)).value, stream.receive(timeout: .seconds(30)).value])
        #expect(kept.count == 2 && kept.isSubset(of: Set((0..<5).map { Int32($0) })))
        #expect(try stream.tryReceive() == nil)
    }

    @Test("signals no stream can watch are refused, saying why", arguments: [
        (SIGKILL, Errno.invalidArgument), (SIGSTOP, .invalidArgument), (SIGSEGV, .invalidArgument), (SIGBUS, .invalidArgument),
        (SIGURG, .resourceBusy), (32, .invalidArgument), (33, .invalidArgument), (0, .invalidArgument), (65, .invalidArgument),
    ])
    func refused(signal: CInt, errno: Errno) throws {
        #expect { _ = try SignalStream([signal]) } throws: { ($0 as? IPCError)?.errno == errno && ($0 as? IPCError)?.detail != nil }
    }

    @Test("an empty list and a buffer limit below 1 are EINVAL")
    func badArguments() throws {
        #expect { _ = try SignalStream([]) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        #expect { _ = try SignalStream([rt + 15], bufferLimit: 0) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
    }

    @Test("names: every signal's name reads back as its number; the forms kill(1) accepts are read")
    func names() throws {
        for signal in CInt(1)...Signals.realtime.upperBound where !(32..<Signals.realtime.lowerBound).contains(signal) {
            #expect(try Signals.number(named: Signals.name(of: signal)) == signal, "\(Signals.name(of: signal))")
        }
        #expect(try Signals.number(named: "term") == SIGTERM)
        #expect(try Signals.number(named: "SigHup") == SIGHUP)
        #expect(try Signals.number(named: "IOT") == SIGABRT)
        #expect(try Signals.number(named: "9") == SIGKILL)
        #expect(try Signals.number(named: "rtmin+3") == rt + 3)
        #expect(try Signals.number(named: "RTMAX-1") == Signals.realtime.upperBound - 1)
        #expect(Signals.name(of: rt) == "SIGRTMIN" && Signals.name(of: Signals.realtime.upperBound) == "SIGRTMAX")
        for bad in ["", "NOPE", "RTMIN+99", "RTMAX+1", "RTMIN-1", "0", "65", "-3", "SIG"] {
            #expect { _ = try Signals.number(named: bad) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        }
    }

    @Test("send: bad signal numbers are EINVAL, sigqueue needs one positive pid, a gone process is ESRCH")
    func sendErrors() throws {
        #expect { try Signals.send(-1, to: getpid()) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        #expect { try Signals.send(0, to: getpid(), value: 1) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        #expect { try Signals.send(rt, to: 0, value: 1) } throws: { ($0 as? IPCError)?.errno == .invalidArgument }
        var gone = try Spawn("/bin/true", arguments: []).start()
        _ = try gone.wait()
        #expect { try Signals.send(rt, to: gone.pid, value: 1) } throws: { ($0 as? IPCError)?.errno == .noSuchProcess }
        try Signals.send(0, to: getpid())  // signal 0: exists and may be signalled
    }
}

@Suite("Signal streams between processes (P8, M4, L3)")
struct SignalStreamProcessTests {
    @Test("none of COUNT signals sent to a process is lost while async waits run and a thread of its own has it unblocked")
    func noneLost() throws {
        let count = 500
        let peer = try PeerSession("signal-stream-async", [String(count)])
        #expect(try peer.line() == "ready")
        for value in 0..<count { try Signals.send(Signals.realtime.lowerBound + 5, to: peer.pid, value: Int32(value)) }
        #expect(try peer.line() == "received \(count) values all")
        #expect(try peer.finish() == .exited(0))
    }

    @Test("the program's own handler still runs, installed before or after the stream", arguments: ["before", "after"])
    func programHandler(order: String) throws {
        let peer = try PeerSession("signal-program-handler", [order])
        #expect(try peer.line() == "watching")
        try Signals.send(SIGUSR1, to: peer.pid)
        #expect(try peer.line() == "stream \(getpid()) handler 1")
        #expect(try peer.finish() == .exited(0))
    }

    @Test("once no stream watches SIGTERM, SIGTERM ends the process again")
    func defaultActionComesBack() throws {
        let peer = try PeerSession("signal-default-after-stream", [])
        #expect(try peer.line() == "watching")
        try Signals.send(SIGTERM, to: peer.pid)
        #expect(try peer.line() == "received \(getpid())")
        #expect(try peer.line() == "dropped")
        try Signals.send(SIGTERM, to: peer.pid)
        #expect(try peer.waitForExit() == .signalled(SIGTERM, coreDumped: false))
    }

    @Test("L3: a forked child and a spawned one get the signal back; exec without fork keeps the mask, not the handler")
    func forkSpawnExec() throws {
        let run = try TestPeer.run(TestPeer.spawn("signal-fork-exec"))
        #expect(run.status == .exited(0))
        #expect(run.output == "fork blocked 0 caught 0\nspawn blocked 0 caught 0\nexec blocked 1 caught 0")
    }
}
