#if canImport(Glibc)
import Glibc
#endif

extension SystemVSemaphoreSet {
    /// One change to one member, as `semop` takes it in a `struct sembuf`
    /// (SPEC Y3). `perform` applies a list of them all at once or not at all.
    ///
    /// - a positive `delta` adds to the value (releases units), never waits;
    /// - zero waits until the value is zero;
    /// - a negative `delta` takes `-delta` units, waiting until the value is at
    ///   least that.
    public struct Operation: Hashable, Sendable {
        /// The member's index, `0..<count`.
        public var member: Int
        /// The change: -32767...32767 (SEMVMX).
        public var delta: Int
        public var flags: Flags

        public init(member: Int, delta: Int, flags: Flags = []) {
            self.member = member
            self.delta = delta
            self.flags = flags
        }

        /// Adds `units` to `member`.
        public static func add(_ units: Int = 1, to member: Int, flags: Flags = []) -> Operation {
            Operation(member: member, delta: units, flags: flags)
        }

        /// Takes `units` from `member`, waiting until it has them.
        public static func take(_ units: Int = 1, from member: Int, flags: Flags = []) -> Operation {
            Operation(member: member, delta: -units, flags: flags)
        }

        /// Waits until `member` is zero.
        public static func waitForZero(_ member: Int, flags: Flags = []) -> Operation {
            Operation(member: member, delta: 0, flags: flags)
        }

        /// The `sem_flg` bits of an operation.
        public struct Flags: OptionSet, Hashable, Sendable {
            public let rawValue: Int16
            public init(rawValue: Int16) { self.rawValue = rawValue }

            /// `IPC_NOWAIT`: if the list cannot be performed at once, nothing is
            /// done and the call fails with `EAGAIN` (`tryPerform` returns false).
            public static let noWait = Flags(rawValue: Int16(IPC_NOWAIT))

            /// `SEM_UNDO`: the kernel records the opposite change for this process
            /// and applies it when the process exits, however it exits (a `SIGKILL`
            /// too), so a unit taken is given back. The record belongs to the
            /// process: a child started by `fork` starts with none, `exec` keeps it.
            public static let undo = Flags(rawValue: Int16(SEM_UNDO))
        }
    }
}

extension SystemVSemaphoreSet.Operation: CustomStringConvertible {
    /// As `ipc semset op` takes it: `0:-1`, `1:+2`, `2:0`, with `u` (undo) and `n`
    /// (no wait) appended for the flags.
    public var description: String {
        var text = "\(member):" + (delta > 0 ? "+\(delta)" : "\(delta)")
        if flags.contains(.undo) { text += "u" }
        if flags.contains(.noWait) { text += "n" }
        return text
    }
}

extension SystemVSemaphoreSet {
    /// Checks `operation` against this set and the kernel's limits and returns
    /// its `sembuf`; `extraFlags` are added (tryPerform adds `IPC_NOWAIT`).
    @inline(__always)
    func sembufChecked(_ operation: Operation, operationName: StaticString, extraFlags: Int16 = 0) throws(IPCError) -> sembuf {
        guard operation.member >= 0, operation.member < count else {
            throw IPCError(operation.member < 0 ? .invalidArgument : .fileTooLarge,
                           operation: operationName.description, object: object,
                           detail: "member \(operation.member) is not in the set, whose members are 0...\(count - 1)")
        }
        guard let member = UInt16(exactly: operation.member) else {
            throw IPCError(.fileTooLarge, operation: operationName.description, object: object,
                           detail: "semop reaches members 0...65535 only (sem_num is 16 bits)")
        }
        guard operation.delta >= -Self.maximumValue, operation.delta <= Self.maximumValue else {
            throw IPCError(.outOfRange, operation: operationName.description, object: object,
                           detail: "the change \(operation.delta) to member \(operation.member) is outside -\(Self.maximumValue)...\(Self.maximumValue) (SEMVMX)")
        }
        return sembuf(sem_num: member, sem_op: Int16(operation.delta),
                      sem_flg: operation.flags.rawValue | extraFlags)
    }
}

extension SystemVSemaphoreSet.Operation {
    /// Reads an operation as `description` writes it and `ipc semset op` takes it:
    /// `MEMBER:DELTA` (`0:-1`, `1:+2`, `2:0`), optionally followed by `u` (undo)
    /// and `n` (no wait). Throws `EINVAL` otherwise. The member and the change are
    /// checked against a set when the operation is performed.
    public init(parsing text: String) throws(IPCError) {
        var body = Substring(text)
        var flags: Flags = []
        while let last = body.last, last == "u" || last == "n" {
            flags.insert(last == "u" ? .undo : .noWait)
            body = body.dropLast()
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let member = Int(parts[0]), let delta = Int(parts[1]) else {
            throw IPCError(.invalidArgument, operation: "parse semaphore operation", object: "\"\(text)\"",
                           detail: "an operation is MEMBER:DELTA such as 0:-1, 1:+1 or 2:0, optionally followed by u (undo) and n (no wait)")
        }
        self.init(member: member, delta: delta, flags: flags)
    }
}
