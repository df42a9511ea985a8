import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

extension PeerCommands {
    static let processes: [String: PeerCommand] = [
        // kill-self SIGNAL: die by a signal (SIGABRT/SIGQUIT dump core where allowed).
        "kill-self": { args in
            let signal = CInt(args[0])
            Glibc.signal(signal, SIG_DFL)
            raise(signal)
            return 99
        },
        // stop-then-exit STATUS FD: stop itself with SIGSTOP; after SIGCONT wait for
        // end of file on FD (so "continued" is reported before the exit), exit STATUS.
        "stop-then-exit": { args in
            raise(SIGSTOP)
            var byte: UInt8 = 0
            while read(CInt(args[1]), &byte, 1) > 0 {}
            return Int32(args[0]) ?? 0
        },
        // wait-for-eof FD: block until FD reaches end of file, then exit 0.
        "wait-for-eof": { args in
            var byte: UInt8 = 0
            while read(CInt(args[0]), &byte, 1) > 0 {}
            return 0
        },
        // pgid: print the process group id.
        "pgid": { _ in print(getpgrp()); return 0 },
        // sigpipe-disposition: print "default" or "ignored".
        "sigpipe-disposition": { _ in
            var action = sigaction()
            sigaction(SIGPIPE, nil, &action)
            let handler = unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
            print(handler == 1 ? "ignored" : handler == 0 ? "default" : "handled")  // SIG_IGN is 1, SIG_DFL 0
            return 0
        },
    ]
}

extension PeerCommands {
    static let crashing: [String: PeerCommand] = [
        // dump-core: allow core files, then abort (the test picks the working directory).
        "dump-core": { _ in
            var unlimited = rlimit(rlim_cur: rlim_t.max, rlim_max: rlim_t.max)  // RLIM_INFINITY
            setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &unlimited)
            Glibc.signal(SIGABRT, SIG_DFL)
            abort()
        },
    ]
}
