import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the host-wide inventory (ipc ls / ipc rm). Objects are made
// with the plain C calls, so these commands depend on nothing but the kernel.

extension PeerCommands {
    static let inventory: [String: PeerCommand] = [
        // inv-sysv-create msg|sem|shm KEY COUNT MODE: create (IPC_CREAT|IPC_EXCL) a
        // System V object with key KEY (decimal, 0 = private), COUNT semaphores or
        // bytes, MODE octal; print its id.
        "inv-sysv-create": { args in
            let key = key_t(args[1])!, count = Int(args[2])!, flags = IPC_CREAT | IPC_EXCL | CInt(args[3], radix: 8)!
            let id: CInt
            switch args[0] {
            case "msg": id = msgget(key, flags)
            case "sem": id = semget(key, CInt(count), flags)
            default: id = shmget(key, count, flags)
            }
            if id < 0 { print(IPCError(Errno(rawValue: errno), operation: args[0] + "get").errnoName); return 1 }
            print(id)
            return 0
        },
        // inv-shm-attach ID: attach segment ID, print "attached", detach and exit
        // when stdin closes.
        "inv-shm-attach": { args in
            guard let address = shmat(CInt(args[0]), nil, SHM_RDONLY), address != UnsafeMutableRawPointer(bitPattern: -1) else { return 1 }
            print("attached")
            fflush(nil)
            var byte: UInt8 = 0
            _ = read(0, &byte, 1)
            shmdt(address)
            return 0
        },
        // inv-posix-create mq|pshm|psem NAME: create the object and exit, leaving
        // it behind: a queue holding one message "hello", a 4096-byte shared
        // memory object, a semaphore of value 3. Mode 0640. NAME as `ipc ls`
        // shows names (\xHH is a byte), so names need not be UTF-8.
        "inv-posix-create": { args in
            let mode: FilePermissions = [.ownerRead, .ownerWrite, .groupRead]
            let name = PosixIPCName(bytes: EscapedText.bytes(parsing: args[1]))
            switch args[0] {
            case "mq":
                let queue = try PosixMessageQueue.create(name, permissions: mode)
                try queue.send(Array("hello".utf8), priority: 0)
            case "pshm": _ = try PosixSharedMemory.create(name, size: 4096, permissions: mode)
            default: _ = try PosixSemaphore.create(name, value: 3, permissions: mode)
            }
            return 0
        },
        // inv-posix-hold mq|pshm|psem NAME: open the object (and map shared
        // memory), print "open", and keep it until stdin closes.
        "inv-posix-hold": { args in
            var byte: UInt8 = 0
            switch args[0] {
            case "mq":
                let queue = try PosixMessageQueue.open(args[1], access: .readOnly)
                print("open")
                fflush(nil)
                _ = read(0, &byte, 1)
                try queue.close()
            case "pshm":
                let mapping = try PosixSharedMemory.open(args[1], access: .readOnly).map()
                print("open")
                fflush(nil)
                _ = read(0, &byte, 1)
                _ = mapping
            default:
                let semaphore = try PosixSemaphore.open(args[1])
                print("open")
                fflush(nil)
                _ = read(0, &byte, 1)
                _ = semaphore
            }
            return 0
        },
        // inv-lock PATH posix|flock START LENGTH: lock PATH (created if missing) —
        // posix: an exclusive fcntl lock (lockf F_TLOCK) of LENGTH bytes from START
        // (0 = to the end of the file); flock: a shared flock — then print
        // "locked" and hold it until stdin closes.
        "inv-lock": { args in
            let fd = open(args[0], O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            if fd < 0 { return 1 }
            if args[1] == "posix" {
                if lseek(fd, off_t(args[2])!, SEEK_SET) < 0 || lockf(fd, F_TLOCK, off_t(args[3])!) != 0 { return 2 }
            } else if flock(fd, LOCK_SH | LOCK_NB) != 0 {
                return 2
            }
            print("locked")
            fflush(nil)
            var byte: UInt8 = 0
            _ = read(0, &byte, 1)
            close(fd)
            return 0
        },
        // exec-as-user UID PROGRAM ARGS…: drop to UID (gid UID, no supplementary
        // groups), send stderr to stdout, and exec PROGRAM — to run `ipc` as an
        // unprivileged user.
        "exec-as-user": { args in
            let uid = uid_t(args[0])!
            if setgroups(0, nil) != 0 || setgid(gid_t(uid)) != 0 || setuid(uid) != 0 { return 77 }
            dup2(1, 2)
            var argv: [UnsafeMutablePointer<CChar>?] = args.dropFirst().map { strdup($0) }
            argv.append(nil)
            execv(args[1], argv)
            return 126
        },
    ]
}
