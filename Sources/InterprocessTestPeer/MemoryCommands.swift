import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for shared memory, mappings and POSIX semaphores. Commands that
// report an outcome print one word: "ok", or the errno name of the IPCError.

extension PeerCommands {
    static let memory: [String: PeerCommand] = [
        // shm-open-status NAME: open the object read-write; print ok or the errno name.
        "shm-open-status": { args in
            reportOutcome { () throws(IPCError) in _ = try PosixSharedMemory.open(args[0]) }
        },
        // sem-open-status NAME: open the semaphore; print ok or the errno name.
        "sem-open-status": { args in
            reportOutcome { () throws(IPCError) in _ = try PosixSemaphore.open(args[0]) }
        },
        // shm-create-and-exit NAME TEXT: create the object holding TEXT, then exit.
        "shm-create-and-exit": { args in
            let memory = try PosixSharedMemory.create(args[0], size: args[1].utf8.count)
            try memory.map().write(Array(args[1].utf8), at: 0)
            return 0
        },
        // shm-write NAME OFFSET TEXT: write TEXT into the object at OFFSET.
        "shm-write": { args in
            try PosixSharedMemory.open(args[0]).map().write(Array(args[2].utf8), at: Int(args[1])!)
            return 0
        },
        // shm-read NAME OFFSET COUNT: print COUNT bytes of the object from OFFSET.
        "shm-read": { args in
            let bytes = try PosixSharedMemory.open(args[0], access: .readOnly).map().read(count: Int(args[2])!, from: Int(args[1])!)
            print(String(decoding: bytes, as: UTF8.self))
            return 0
        },
        // shm-truncate NAME SIZE: set the object's size.
        "shm-truncate": { args in
            try PosixSharedMemory.open(args[0]).resize(to: Int(args[1])!)
            return 0
        },
        // shm-atomic-add NAME OFFSET COUNT: add 1 to the UInt64 atomic at OFFSET, COUNT times.
        "shm-atomic-add": { args in
            let mapping = try PosixSharedMemory.open(args[0]).map()
            let offset = Int(args[1])!
            for _ in 0..<Int(args[2])! {
                try mapping.withAtomic(UInt64.self, at: offset) { _ = $0.add(1, ordering: .relaxed) }
            }
            return 0
        },
        // shm-futex-wake NAME OFFSET VALUE: store VALUE in the UInt32 at OFFSET, wake
        // every waiter on it, and print how many were woken.
        "shm-futex-wake": { args in
            let mapping = try PosixSharedMemory.open(args[0]).map()
            let offset = Int(args[1])!
            try mapping.withAtomic(UInt32.self, at: offset) { $0.store(UInt32(args[2])!, ordering: .releasing) }
            print(try mapping.futexWake(at: offset))
            return 0
        },
        // fd-map-read FD OFFSET COUNT: map the inherited descriptor FD and print bytes.
        "fd-map-read": { args in
            let memory = PosixSharedMemory(adopting: try OwnedDescriptor(inheritedNumber: CInt(args[0])))
            let bytes = try memory.map().read(count: Int(args[2])!, from: Int(args[1])!)
            print(String(decoding: bytes, as: UTF8.self))
            return 0
        },
        // fd-map-write FD OFFSET TEXT: map the inherited descriptor FD and write TEXT.
        "fd-map-write": { args in
            let memory = PosixSharedMemory(adopting: try OwnedDescriptor(inheritedNumber: CInt(args[0])))
            try memory.map().write(Array(args[2].utf8), at: Int(args[1])!)
            return 0
        },
        // maps-contains TEXT: print yes when a line of /proc/self/maps contains TEXT.
        "maps-contains": { args in
            guard let file = fopen("/proc/self/maps", "r") else { return 1 }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 4096)
            while fgets(&line, CInt(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.contains(args[0]) {
                    print("yes")
                    return 0
                }
            }
            print("no")
            return 0
        },
        // sem-create-and-exit NAME VALUE: create the semaphore, then exit.
        "sem-create-and-exit": { args in
            _ = try PosixSemaphore.create(args[0], value: Int(args[1])!)
            return 0
        },
        // sem-post NAME COUNT: post the semaphore COUNT times.
        "sem-post": { args in
            let semaphore = try PosixSemaphore.open(args[0])
            for _ in 0..<Int(args[1])! { try semaphore.post() }
            return 0
        },
        // sem-wait NAME MILLISECONDS: wait; print ok, or timeout.
        "sem-wait": { args in
            let semaphore = try PosixSemaphore.open(args[0])
            do {
                try semaphore.wait(timeout: .milliseconds(Int(args[1])!))
                print("ok")
            } catch let error as IPCError where error.isTimeout {
                print("timeout")
            }
            return 0
        },
        // sem-post-on-signal NAME SIGNAL: post NAME from a handler of SIGNAL; print
        // ready, wait for the signal once, then exit.
        "sem-post-on-signal": { args in
            let signal = CInt(args[1])
            var blocked = sigset_t(), previous = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, signal)
            pthread_sigmask(SIG_BLOCK, &blocked, &previous)
            let poster = try SemaphoreSignalPoster(signal: signal, posting: PosixSemaphore.open(args[0]))
            print("ready")
            fflush(nil)
            var waiting = previous
            sigdelset(&waiting, signal)
            sigsuspend(&waiting)  // returns once the handler has posted
            _ = poster
            return 0
        },
        // sigbus-foreign: make a library mapping (installing its SIGBUS guard), then
        // touch a page past the end of a raw mapping the library does not own. The
        // process must die of SIGBUS, not hang or carry on.
        "sigbus-foreign": { _ in
            let memory = try PosixSharedMemory.anonymous(size: 4096)
            let mapping = try memory.map()
            try mapping.store(UInt8(1), at: 0)
            let empty = try PosixSharedMemory.anonymous(size: 0)
            guard let raw = mmap(nil, 4096, PROT_READ, MAP_SHARED, empty.descriptor.rawValue, 0),
                  raw != UnsafeMutableRawPointer(bitPattern: -1) else { return 1 }
            let value = raw.load(as: UInt8.self)  // SIGBUS: the object is empty
            print("survived \(value)")
            return 0
        },
    ]
}
