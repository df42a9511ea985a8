import CInterprocess
import Interprocess
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for signal streams (SPEC P8, M4).

extension PeerCommands {
    static let signalStreams: [String: PeerCommand] = [
        // signal-default-after-stream: watch SIGTERM, print "watching", receive one
        // and print "received PID", drop the stream and print "dropped", then read
        // stdin to its end. The next SIGTERM must end the process by its default
        // action, now that no stream watches it.
        "signal-default-after-stream": { _ in
            do {
                let stream = try SignalStream([SIGTERM])
                say("watching")
                say("received \(try stream.receive(timeout: .seconds(60)).senderPID)")
            }
            say("dropped")
            var byte: UInt8 = 0
            while read(0, &byte, 1) > 0 {}
            return 0
        },
        // signal-program-handler before|after: the program installs its own SIGUSR1
        // handler before or after it watches SIGUSR1 with a stream; prints
        // "watching", then, after one SIGUSR1, "stream PID handler N" once the
        // program's handler has run (N: how many times, within 30 s).
        "signal-program-handler": { args in
            func installHandler() -> Bool {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { _ in ProgramUSR1.count.add(1, ordering: .relaxed) }
                sigemptyset(&action.sa_mask)
                return sigaction(SIGUSR1, &action, nil) == 0
            }
            if args[0] == "before" { guard installHandler() else { return 1 } }
            let stream = try SignalStream([SIGUSR1])
            if args[0] == "after" { guard installHandler() else { return 1 } }
            say("watching")
            let signal = try stream.receive(timeout: .seconds(60))
            let deadline = Deadline.after(.seconds(30))
            while ProgramUSR1.count.load(ordering: .relaxed) == 0 && !deadline.hasPassed { sched_yield() }
            say("stream \(signal.senderPID) handler \(ProgramUSR1.count.load(ordering: .relaxed))")
            return 0
        },
        // signal-stream-async COUNT: watch SIGRTMIN+5 on this (main) thread; start a
        // thread of the program's own that has it unblocked (so signals may take
        // the library's handler road) and async waits on library threads (reactor
        // reads, engine waits); print "ready"; receive COUNT signals, each from the
        // parent; print "received N values V" (V: "all" when the payloads were
        // exactly 0…COUNT-1).
        "signal-stream-async": { args in
            let count = Int(args[0])!
            let signal = Signals.realtime.lowerBound + 5
            let stream = try SignalStream([signal], bufferLimit: count)
            var ends: [CInt] = [-1, -1]
            guard cipc_pipe2(&ends, O_CLOEXEC) == 0 else { return 1 }
            let (stopReader, stopWriter) = (ends[0], ends[1])
            var unblockedThread = pthread_t()
            let started = pthread_create(&unblockedThread, nil, { raw in
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, Signals.realtime.lowerBound + 5)
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                var byte: UInt8 = 0
                while read(CInt(Int(bitPattern: raw)), &byte, 1) < 0 {}
                return nil
            }, UnsafeMutableRawPointer(bitPattern: Int(stopReader)))
            guard started == 0 else { return 2 }
            let values = try runAsync { () async throws -> Set<Int32> in
                var pipes: [(reader: CInt, writer: CInt)] = []
                for _ in 0..<8 {
                    var pair: [CInt] = [-1, -1]
                    guard cipc_pipe2(&pair, O_CLOEXEC) == 0 else { return [] }
                    pipes.append((pair[0], pair[1]))
                }
                let engineWaits = try EngineWaits()
                let waiting = Counter()
                let tasks = pipes.indices.map { index in
                    let reader = pipes[index].reader
                    return Task {
                        waiting.value.add(1, ordering: .relaxed)
                        if index % 2 == 0 {
                            let owned = OwnedDescriptor(adopting: FileDescriptor(rawValue: dup(reader)))
                            try await owned.waitAsync(for: .readable)
                        } else {
                            _ = try await engineWaits.semaphore.waitAsync(until: .after(.seconds(60)))
                        }
                    }
                }
                while waiting.value.load(ordering: .relaxed) < pipes.count || !threadExists("ipc-reactor") { await Task.yield() }
                say("ready")
                var values = Set<Int32>()
                for _ in 0..<count {
                    let received = try await stream.receiveAsync()
                    guard received.senderPID == getppid(), let value = received.value else { break }
                    values.insert(value)
                }
                for pipe in pipes {
                    var byte: UInt8 = 1
                    _ = write(pipe.writer, &byte, 1)
                }
                for index in pipes.indices where index % 2 == 1 { try engineWaits.semaphore.post() }
                for task in tasks { _ = try await task.value }
                for pipe in pipes { close(pipe.reader); close(pipe.writer) }
                return values
            }
            close(stopWriter)
            pthread_join(unblockedThread, nil)
            let all = values == Set((0..<count).map { Int32($0) })
            say("received \(values.count) values \(all ? "all" : "missing")")
            return 0
        },
        // signal-masks SIGNAL: prints "blocked B caught C" for this process (1 or 0 each).
        "signal-masks": { args in
            say(signalMasks(try Signals.number(named: args[0])))
            return 0
        },
        // signal-fork-exec: watch SIGUSR1 on this thread, then print what a forked
        // child ("fork …"), a spawned child ("spawn …") and this process after exec
        // ("exec …") have of it, each as `signal-masks` prints it.
        "signal-fork-exec": { _ in
            let stream = try SignalStream([SIGUSR1])
            _ = stream
            waitUntilOtherThreadsSleep()
            let child = fork()
            if child == 0 {
                say("fork " + signalMasks(SIGUSR1))
                _exit(0)
            }
            var status: CInt = 0
            guard child > 0, waitpid(child, &status, 0) == child, status == 0 else { return 2 }
            sayWithoutNewline("spawn ")
            var spawned = try Spawn("/proc/self/exe", arguments: ["signal-masks", "USR1"]).start()
            guard try spawned.wait() == .exited(0) else { return 3 }
            sayWithoutNewline("exec ")
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/proc/self/exe"), strdup("signal-masks"), strdup("USR1"), nil]
            execv("/proc/self/exe", argv)
            return 4
        },
    ]
}

/// "blocked B caught C" for `signal` in the calling thread: whether its mask
/// blocks it, and whether a handler catches it (1 or 0 each).
private func signalMasks(_ signal: CInt) -> String {
    var mask = sigset_t()
    pthread_sigmask(SIG_BLOCK, nil, &mask)
    var action = sigaction()
    sigaction(signal, nil, &action)
    let handler = unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
    return "blocked \(sigismember(&mask, signal)) caught \(handler > 1 ? 1 : 0)"
}

/// Writes `text` to stdout at once: a child this process starts, or the program
/// it execs, finishes the line.
private func sayWithoutNewline(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(1, &bytes, bytes.count)
}

private enum ProgramUSR1 { static let count = Atomic<Int>(0) }

extension PeerCommands {
    static let signalDispatch: [String: PeerCommand] = [
        // signal-dispatch-conflict before|after: a Dispatch signal source for SIGUSR2
        // made before or after a SignalStream of it; prints "busy: ERROR" when the
        // stream's creation (before) or its next wait (after) refuses, "shared" if
        // neither does.
        "signal-dispatch-conflict": { args in
            func dispatchSource() -> any DispatchSourceSignal {
                let source = DispatchSource.makeSignalSource(signal: SIGUSR2, queue: DispatchQueue(label: "peer"))
                source.setEventHandler {}
                source.resume()
                // Dispatch installs its handler when the source is registered, on its own thread.
                let deadline = Deadline.after(.seconds(30))
                while !deadline.hasPassed {
                    var action = sigaction()
                    sigaction(SIGUSR2, nil, &action)
                    let handler = unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
                    if handler > 1 && cipc_signal_handler_is_ours(SIGUSR2) == 0 { break }
                    sched_yield()
                }
                return source
            }
            do throws(IPCError) {
                if args[0] == "before" {
                    let source = dispatchSource()
                    defer { source.cancel() }
                    _ = try SignalStream([SIGUSR2])
                } else {
                    let stream = try SignalStream([SIGUSR2])
                    let source = dispatchSource()
                    defer { source.cancel() }
                    _ = try stream.tryReceive()
                }
                say("shared")
            } catch {
                say("busy: \(error)")
            }
            return 0
        },
    ]
}
