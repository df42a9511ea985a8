import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the System V common ground (keys, permissions, removal).
// KIND is msg, sem or shm.

extension PeerCommands {
    static let systemV: [String: PeerCommand] = [
        // sysv-make KIND KEY MODE: create an object with plain msgget/semget/shmget
        // (as another program would) and print its id.
        "sysv-make": { args in
            guard let kind = SystemVKind(rawValue: args[0]) else { return 64 }
            let key = try IPCKey(parsing: args[1]).rawValue
            let flags = IPC_CREAT | IPC_EXCL | CInt(args[2], radix: 8)!
            let id: CInt
            switch kind {
            case .messageQueue: id = msgget(key, flags)
            case .semaphoreSet: id = semget(key, 1, flags)
            case .sharedMemory: id = shmget(key, 4096, flags)
            }
            if id < 0 { return 1 }
            print(id)
            return 0
        },
        // sysv-stat KIND ID: read the permissions; print ok or the errno name.
        "sysv-stat": { args in
            reportOutcome { () throws(IPCError) in _ = try SystemVKind(rawValue: args[0])!.permissions(id: Int32(args[1])!) }
        },
        // sysv-chmod KIND ID MODE: change the mode; print ok or the errno name.
        "sysv-chmod": { args in
            reportOutcome { () throws(IPCError) in
                try SystemVKind(rawValue: args[0])!.changePermissions(
                    id: Int32(args[1])!, mode: FilePermissions(rawValue: CModeT(args[2], radix: 8)!))
            }
        },
        // sysv-remove KIND ID: remove the object; print ok or the errno name.
        "sysv-remove": { args in
            reportOutcome { () throws(IPCError) in try SystemVKind(rawValue: args[0])!.remove(id: Int32(args[1])!) }
        },
        // sysv-fork SHMID SEMID: attach the segment, take a unit of member 0 of the
        // set with SEM_UNDO, then fork. The child exits with the segment's nattch
        // as it sees it (nothing but system calls after fork); then this process
        // prints "child N; after: nattch M, value V" and exits (detaching, and
        // undoing its own adjustment).
        "sysv-fork": { args in
            let segment = Int32(args[0])!, set = Int32(args[1])!
            guard let base = shmat(segment, nil, 0), base != UnsafeMutableRawPointer(bitPattern: -1) else { return 1 }
            var take = sembuf(sem_num: 0, sem_op: -1, sem_flg: Int16(SEM_UNDO))
            guard semop(set, &take, 1) == 0 else { return 2 }
            let child = fork()
            if child == 0 {
                var info = shmid_ds()
                _exit(shmctl(segment, IPC_STAT, &info) == 0 ? Int32(clamping: info.shm_nattch) : 99)
            }
            var status: CInt = 0
            guard child > 0, waitpid(child, &status, 0) == child else { return 3 }
            var info = shmid_ds()
            guard shmctl(segment, IPC_STAT, &info) == 0 else { return 4 }
            let value = try SystemVSemaphoreSet(id: set).value(of: 0)
            print("child \((status >> 8) & 0xff); after: nattch \(info.shm_nattch), value \(value)")
            return 0
        },
    ]
}
