import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension IPCInventory {
    /// One IPC object as the kernel reports it (SPEC L2). Fields a kind does not
    /// have are nil; the documentation of each field says where it comes from.
    public struct Entry: Hashable, Sendable {
        public var kind: Kind
        /// The System V key (`.private` for `IPC_PRIVATE` and for a segment marked
        /// for removal, whose key the kernel resets); nil for other kinds.
        public var key: IPCKey?
        /// The POSIX name (`/orders`), exactly as the kernel keeps it; nil for
        /// other kinds.
        public var name: PosixIPCName?
        /// The path of a locked file, its exact bytes (`EscapedText.render` shows
        /// it); nil for other kinds, and when no process shows the file among its
        /// open descriptors. Bytes, not a `FilePath`, so that a path that is not
        /// UTF-8 stays exact.
        public var path: [UInt8]?
        /// The System V identifier; for a record lock, its number in /proc/locks
        /// (valid only for this snapshot).
        public var id: Int32?
        /// The owner's user id: System V `uid`, the file's owner for POSIX
        /// objects, the holder process's user for a record lock (nil if unknown).
        public var ownerUID: uid_t?
        /// The owner's login name, when the password database has one.
        public var ownerName: String?
        /// The owner's group id (System V `gid`, the file's group).
        public var ownerGID: gid_t?
        /// The creator's user and group ids (System V `cuid`, `cgid` only).
        public var creatorUID: uid_t?
        public var creatorGID: gid_t?
        /// Read and write bits for owner, group and others (nil for record locks).
        public var mode: FilePermissions?
        /// Bytes: a System V queue's `cbytes`, a segment's `size`, the file size of
        /// a POSIX shared memory object or semaphore. nil for a POSIX queue: its
        /// `QSIZE` is only in its file, and reading that file sets the queue's
        /// access and change times, which inspection must not.
        public var bytes: Int?
        /// Items: messages on a queue (`qnum`, `mq_curmsgs`), semaphores in a set
        /// (`nsems`), the value of a POSIX semaphore (nil when this process may
        /// not read it without changing its access time, or it is malformed).
        public var count: Int?
        /// Processes using it: a segment's `nattch` (attachments); for a POSIX
        /// object, the processes that have it open or mapped (nil when some
        /// process could not be inspected, as another user's without privilege).
        public var users: Int?
        /// The process that created a segment (`cpid`).
        public var creatorPID: pid_t?
        /// The process of the last operation: a segment's `lpid` (shmat/shmdt), a
        /// queue's `lspid` (last msgsnd).
        public var lastPID: pid_t?
        /// The process holding (or waiting for) a record lock; nil for open file
        /// description locks, which belong to no process.
        public var holderPID: pid_t?
        /// Seconds since the epoch of creation or last change: System V `ctime`
        /// (creation or IPC_SET), a POSIX object's file `st_ctime`.
        public var changeTime: Int64?
        /// Seconds since the epoch of the last use, 0 = never: `stime` (msgsnd),
        /// `otime` (semop), `atime` (shmat); a POSIX object's `st_mtime`.
        public var lastUseTime: Int64?
        /// A segment removed while still attached (`SHM_DEST`): it goes away with
        /// its last detach and can no longer be found by key.
        public var isMarkedForRemoval: Bool
        /// Why this is not a well-formed object of its kind, nil when it is one: a
        /// `sem.NAME` file that is not a semaphore of this C library (anyone can
        /// put any file in /dev/shm). Such an entry has its file's fields
        /// (owner, mode, size, times) and no `count`.
        public var malformation: String?
        /// What /proc/locks says about a record lock.
        public var lock: RecordLockDetails?
        /// For a POSIX shared memory object whose memory starts with a placement
        /// header (`PlacedMapping`): the layout placed in it; nil otherwise, and
        /// when this process may not read it without changing its access time.
        public var placement: PlacedObjectSummary?
        /// For a POSIX shared memory object that holds a `SharedMemoryChannel`
        /// (SPEC M5): its producers, receiver, capacity and fill level, read without
        /// attaching; nil otherwise.
        public var channel: SharedMemoryChannel.Status?
        /// For a door: its server, procedure, clients and calls (`path` is the
        /// path it is attached to, nil when none).
        public var door: DoorListing?

        public init(kind: Kind) {
            self.kind = kind
            self.isMarkedForRemoval = false
        }
    }
}
