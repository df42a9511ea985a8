import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A System V semaphore set: `count` counters in the kernel that processes
/// change together, atomically, with `perform` (SPEC Y3, V1–V3).
///
/// The set holds only the identifier the kernel gave it (there is nothing to
/// close), so it is copyable and any process that knows the key, or the
/// identifier, and has the permission can use it. It stays until `remove()` is
/// called, whoever created it and whether or not that process still runs.
///
/// ```swift
/// // Two members: 0 a lock (1 = free), 1 a counter of items.
/// let set = try SystemVSemaphoreSet.openOrCreate(key: 0x1234, count: 2, initialValues: [1, 0])
/// try set.perform([.take(from: 0, flags: .undo)])           // lock; released if we die
/// try set.perform([.add(to: 0, flags: .undo), .add(to: 1)])  // unlock and publish, atomically
/// ```
///
/// Initialisation without a race. `semget` creates the members with the value
/// zero, and setting their values is a second call: a process that opens the
/// set in between, or after a creator that died in between, would use values
/// nobody chose. So the creator (the process whose `semget` had `IPC_CREAT |
/// IPC_EXCL` succeed) sets the values with `SETALL` and then performs a `semop`
/// that changes nothing, which makes the kernel record a last-operation time
/// (`sem_otime`; Linux sets it on `semop` only, not on `SETALL`). Openers wait,
/// up to a deadline, until that time is non-zero, and fail with `ETIMEDOUT`
/// ("the creator has not initialised it") if it never becomes so. A program that
/// does not use this library and performs an operation on a set first marks it
/// initialised too.
public struct SystemVSemaphoreSet: SystemVObject {
    public static let kind = SystemVKind.semaphoreSet

    /// The identifier `semget` returned.
    public let id: Int32
    /// The number of semaphores (members) in the set, numbered from 0.
    public let count: Int

    /// SEMVMX: the largest value a member can hold, and the largest change one
    /// operation can make.
    public static let maximumValue = 32767

    /// How long `open` and `openOrCreate` wait by default for the creator to
    /// initialise a set it has just created.
    public static let defaultInitialisationTimeout = Duration.seconds(5)

    /// The set with identifier `id`, as `ipcs` or another process reports it.
    /// Reads the number of members with `IPC_STAT`: `EINVAL` if there is no such
    /// set, `EACCES` without read permission. Does not wait for initialisation.
    ///
    /// The corresponding C function is `semctl` with `IPC_STAT`.
    public init(id: Int32) throws(IPCError) {
        let info = try Self.stat(id: id)
        self.id = id
        self.count = Int(info.sem_nsems)
    }

    private init(id: Int32, count: Int) {
        self.id = id
        self.count = count
    }

    /// Creates a new set of `count` members with `initialValues` (all zero when
    /// nil); `EEXIST` if `key` is taken. With `.private` the set is new every
    /// time and can be found only by its identifier.
    ///
    /// The values are set and the set is marked initialised before this returns
    /// (see the type's documentation); if that fails, the set is removed again.
    /// Initialising needs the owner's read and write bits, so the set is made with
    /// them and given `permissions` afterwards when they lack them.
    ///
    /// The corresponding C functions are `semget` with `IPC_CREAT | IPC_EXCL`,
    /// `semctl` with `SETALL`, and `semop`.
    public static func create(
        key: IPCKey, count: Int, permissions: FilePermissions = .ownerReadWrite, initialValues: [Int]? = nil
    ) throws(IPCError) -> SystemVSemaphoreSet {
        let values = try checkCreation(key: key, count: count, initialValues: initialValues)
        let initialising = permissions.union(.ownerReadWrite)
        let id = try kind.get(key: key, creation: .create, permissions: initialising, count: count)
        let set = SystemVSemaphoreSet(id: id, count: count)
        do throws(IPCError) {
            try set.initialise(values)
            if initialising != permissions { try set.changePermissions(mode: permissions) }
        } catch {
            try? set.remove()
            throw error
        }
        return set
    }

    /// The existing set with `key`, once its creator has initialised it; `ENOENT`
    /// if there is none, `ETIMEDOUT` if the creator has not initialised it by
    /// `initialisationDeadline` (it may have died half-way: remove the set and
    /// create it again).
    ///
    /// The corresponding C functions are `semget` and `semctl` with `IPC_STAT`.
    public static func open(
        key: IPCKey, initialisationDeadline: Deadline = .after(defaultInitialisationTimeout)
    ) throws(IPCError) -> SystemVSemaphoreSet {
        let id = try kind.get(key: key, creation: .open, permissions: [])
        return try waitForInitialisation(id: id, deadline: initialisationDeadline)
    }

    /// The set with `key`: a new one initialised with `initialValues` (all zero
    /// when nil) if there is none, otherwise the existing one, as its creator
    /// initialised it, once it has (`ETIMEDOUT` if not by
    /// `initialisationDeadline`). An existing set keeps its values. `EINVAL` if
    /// the existing set has fewer than `count` members.
    ///
    /// The corresponding C functions are `semget` (first with `IPC_CREAT |
    /// IPC_EXCL`, then without), `semctl` and `semop`.
    public static func openOrCreate(
        key: IPCKey, count: Int, permissions: FilePermissions = .ownerReadWrite, initialValues: [Int]? = nil,
        initialisationDeadline: Deadline = .after(defaultInitialisationTimeout)
    ) throws(IPCError) -> SystemVSemaphoreSet {
        _ = try checkCreation(key: key, count: count, initialValues: initialValues)
        // Exclusive creation tells who the creator is; the loop covers a set
        // removed between our two semget calls.
        while true {
            do throws(IPCError) {
                return try create(key: key, count: count, permissions: permissions, initialValues: initialValues)
            } catch where error.errno == .fileExists {
                // Someone else created it: open it below.
            }
            do throws(IPCError) {
                let id = try kind.get(key: key, creation: .open, permissions: [], count: count)
                return try waitForInitialisation(id: id, deadline: initialisationDeadline)
            } catch where error.errno == .noSuchFileOrDirectory || error.errno == .identifierRemoved {
                if initialisationDeadline.hasPassed { throw error }
            }
        }
    }

    /// Checks the arguments of a creation; returns the values to set.
    private static func checkCreation(key: IPCKey, count: Int, initialValues: [Int]?) throws(IPCError) -> [Int] {
        let object = SystemVKind.describe(key: key)
        guard count >= 1, count <= CInt.max else {
            throw IPCError(.invalidArgument, operation: "semget", object: object,
                           detail: "a set has at least one member (got \(count))")
        }
        guard let values = initialValues else { return Array(repeating: 0, count: count) }
        guard values.count == count else {
            throw IPCError(.invalidArgument, operation: "semget", object: object,
                           detail: "\(values.count) initial values for \(count) members")
        }
        for value in values { try checkValue(value, operation: "semctl(SETALL)", object: object) }
        return values
    }

    /// Throws `ERANGE` for a value outside 0...SEMVMX, as the kernel would.
    static func checkValue(_ value: Int, operation: String, object: String) throws(IPCError) {
        if value < 0 || value > maximumValue {
            throw IPCError(.outOfRange, operation: operation, object: object,
                           detail: "the value \(value) is outside 0...\(maximumValue) (SEMVMX)")
        }
    }

    /// The creator's part: set the values, then mark the set initialised with a
    /// `semop` that changes nothing (it adds one to member 0 and takes it back, or
    /// the other way round when member 0 is at the maximum), so `sem_otime` is set.
    private func initialise(_ values: [Int]) throws(IPCError) {
        try setValues(values)
        let first: Int16 = values[0] < Self.maximumValue ? 1 : -1
        var marks = (sembuf(sem_num: 0, sem_op: first, sem_flg: 0), sembuf(sem_num: 0, sem_op: -first, sem_flg: 0))
        let rc = withUnsafeMutableBytes(of: &marks) { raw in
            retryingInterrupts { system_semop(id, raw.baseAddress!.assumingMemoryBound(to: sembuf.self), 2) }
        }
        if rc != 0 { throw IPCError.last("semop", object: object, detail: "marking the new set initialised") }
    }

    /// The opener's part: waits, polling `IPC_STAT` with a growing pause (up to
    /// 10 ms), until the set has had an operation.
    private static func waitForInitialisation(id: Int32, deadline: Deadline) throws(IPCError) -> SystemVSemaphoreSet {
        var pause = 100_000  // ns
        while true {
            let info = try stat(id: id)
            if info.sem_otime != 0 { return SystemVSemaphoreSet(id: id, count: Int(info.sem_nsems)) }
            if deadline.hasPassed {
                throw IPCError(.timedOut, operation: "semget", object: SystemVKind.describe(id: id),
                               detail: "the set exists but the creator has not initialised it (no semop since it was created); it may have died before initialising: remove the set and create it again")
            }
            let left = deadline.remaining.components
            let leftNs = Int(clamping: left.seconds) &* 1_000_000_000 &+ Int(left.attoseconds / 1_000_000_000)
            var sleep = timespec(tv_sec: 0, tv_nsec: min(pause, max(leftNs, 0)))
            _ = system_nanosleep(&sleep, nil)
            pause = min(pause * 2, 10_000_000)
        }
    }

    /// `IPC_STAT` of set `id`.
    static func stat(id: Int32) throws(IPCError) -> semid_ds {
        var info = semid_ds()
        if system_semctl_ds(id, IPC_STAT, &info) != 0 {
            throw IPCError.last("semctl(IPC_STAT)", object: SystemVKind.describe(id: id))
        }
        return info
    }

    /// How errors name this set: `id 32768`.
    var object: String { SystemVKind.describe(id: id) }
}
