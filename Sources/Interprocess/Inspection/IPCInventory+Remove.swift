#if canImport(Glibc)
import Glibc
#endif

/// Removing what the inventory lists (SPEC L2, V3), the job of `ipcrm`.
extension IPCInventory {
    /// Removes the System V object `id` of `kind`. `EINVAL` when there is none,
    /// `EPERM` when this process is neither its owner, its creator nor privileged;
    /// `EINVAL` for a kind not named by identifier, `ENOTSUP` for record locks and doors.
    ///
    /// The corresponding C function is `msgctl`, `semctl` or `shmctl` with `IPC_RMID`.
    public static func remove(_ kind: Kind, id: Int32) throws(IPCError) {
        guard let systemV = kind.systemVKind else {
            try refuseUnremovable(kind, object: "id \(id)")
            throw IPCError(.invalidArgument, operation: "remove", object: "\(kind) id \(id)",
                           detail: "a \(kind) object is named by its name (\"/name\"), not an identifier")
        }
        do throws(IPCError) { try systemV.remove(id: id) } catch {
            var error = error
            if error.errno == .invalidArgument || error.errno == .identifierRemoved {
                error.detail = "there is no \(kind) object with identifier \(id)"
            } else if error.errno == .notPermitted {
                error.detail = "only its owner, its creator or a privileged process may remove it"
            }
            throw error
        }
    }

    /// Removes the POSIX object `name` ("/orders", exact bytes) of `kind`: its name goes now,
    /// the object when the last process closes or unmaps it. `ENOENT` when there
    /// is none, `EACCES` without permission; `EINVAL` for System V kinds (named by
    /// identifier), `ENOTSUP` for record locks and doors.
    ///
    /// The corresponding C function is `mq_unlink`, `shm_unlink` or `sem_unlink`.
    public static func remove(_ kind: Kind, name: PosixIPCName) throws(IPCError) {
        switch kind {
        case .posixQueue: try PosixMessageQueue.unlink(name)
        case .posixSharedMemory: try PosixSharedMemory.unlink(name)
        case .posixSemaphore: try PosixSemaphore.unlink(name)
        case .recordLock, .door: try refuseUnremovable(kind, object: "\"\(name)\"")
        default:
            throw IPCError(.invalidArgument, operation: "remove", object: "\(kind) \"\(name)\"",
                           detail: "a System V object is named by its identifier or key, not a name")
        }
    }

    /// Removes the object an entry of a snapshot describes.
    public static func remove(_ entry: Entry) throws(IPCError) {
        if let id = entry.id, entry.kind.systemVKind != nil { return try remove(entry.kind, id: id) }
        if let name = entry.name { return try remove(entry.kind, name: name) }
        try refuseUnremovable(entry.kind, object: entry.path.map { "\"" + EscapedText.render($0) + "\"" } ?? "id \(entry.id ?? 0)")
        throw IPCError(.invalidArgument, operation: "remove", object: "\(entry.kind)", detail: "the entry names no object")
    }

    /// What `removeAll(ownedBy:)` did.
    public struct Removal: Sendable {
        /// The objects removed.
        public var removed: [Entry]
        /// The objects that could not be removed, with the error.
        public var failed: [Failure]
        /// Kinds that could not be listed, so nothing of them was removed.
        public var unavailable: [Kind: String]

        public struct Failure: Sendable {
            public var entry: Entry
            public var error: IPCError
        }
    }

    /// Removes every System V and POSIX object of user `uid` (`ipc rm --all-mine`):
    /// System V objects whose *creator* is `uid` (`cuid`: what the user created,
    /// even if its ownership was given away since; the kernel lets the creator
    /// remove it), POSIX objects whose file owner is `uid` (the creator's user,
    /// unless the file was given away). Record locks and doors are never removed; a segment
    /// already marked for removal is skipped.
    ///
    /// Before each System V removal the object's creator is read again with
    /// `IPC_STAT`, so an identifier that now names another user's object is left
    /// alone. Run it as `uid`: the kernel's permission checks then guarantee that
    /// nothing of another user can go.
    ///
    /// The corresponding C functions are `msgctl`/`semctl`/`shmctl` with
    /// `IPC_RMID`, `mq_unlink`, `shm_unlink` and `sem_unlink`.
    public static func removeAll(ownedBy uid: uid_t) -> Removal {
        let kinds = Set(Kind.allCases).subtracting([.recordLock, .door])
        let inventory = snapshot(kinds: kinds)
        var result = Removal(removed: [], failed: [], unavailable: inventory.unavailable)
        for entry in inventory.entries {
            if let systemV = entry.kind.systemVKind, let id = entry.id {
                guard entry.creatorUID == uid, !entry.isMarkedForRemoval else { continue }
                do throws(IPCError) {
                    let now = try systemV.permissions(id: id)
                    if now.creatorUID != uid { continue }
                } catch where error.errno == .invalidArgument || error.errno == .identifierRemoved {
                    continue
                } catch {}
            } else if entry.ownerUID != uid {
                continue
            }
            do throws(IPCError) {
                try remove(entry)
                result.removed.append(entry)
            } catch where error.errno == .noSuchFileOrDirectory || (entry.kind.systemVKind != nil && error.errno == .invalidArgument) {
                continue  // gone meanwhile
            } catch {
                result.failed.append(.init(entry: entry, error: error))
            }
        }
        return result
    }

    private static func refuseUnremovable(_ kind: Kind, object: String) throws(IPCError) {
        if kind == .recordLock {
            throw IPCError(.notSupported, operation: "remove", object: "lock \(object)",
                           detail: "a record lock goes away when its holder unlocks or exits")
        }
        if kind == .door {
            throw IPCError(.notSupported, operation: "remove", object: "door \(object)",
                           detail: "a door goes away when its server closes it or exits (ipc ls --kind door shows the server's pid)")
        }
    }
}
