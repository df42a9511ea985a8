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
    ]
}
