import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// semctl (SPEC Y3): values, per-member information and the set's status. The
// shared IPC_SET (`changePermissions`) and IPC_RMID (`remove`) come from
// `SystemVObject`. Reading needs read permission, setting needs write ("alter")
// permission (`EACCES` otherwise).
extension SystemVSemaphoreSet {
    /// The value of `member`.
    ///
    /// The corresponding C function is `semctl` with `GETVAL`.
    public func value(of member: Int) throws(IPCError) -> Int {
        Int(try control(GETVAL, member: member, name: "semctl(GETVAL)"))
    }

    /// Sets `member` to `value` (0...32767), waking the processes this lets go
    /// on, and clears every process's undo record for that member.
    ///
    /// The corresponding C function is `semctl` with `SETVAL`.
    public func setValue(_ value: Int, of member: Int) throws(IPCError) {
        try checkMember(member, name: "semctl(SETVAL)")
        try Self.checkValue(value, operation: "semctl(SETVAL)", object: object)
        if system_semctl_setval(id, CInt(member), CInt(value)) != 0 {
            throw IPCError.last("semctl(SETVAL)", object: object)
        }
    }

    /// The values of every member, in order.
    ///
    /// The corresponding C function is `semctl` with `GETALL`.
    public func values() throws(IPCError) -> [Int] {
        var raw = [UInt16](repeating: 0, count: count)
        if raw.withUnsafeMutableBufferPointer({ system_semctl_array(id, GETALL, $0.baseAddress!) }) != 0 {
            throw IPCError.last("semctl(GETALL)", object: object)
        }
        return raw.map { Int($0) }
    }

    /// Sets every member at once: `values` has one value (0...32767) per member.
    /// Clears every process's undo records for the set.
    ///
    /// The corresponding C function is `semctl` with `SETALL`.
    public func setValues(_ values: [Int]) throws(IPCError) {
        guard values.count == count else {
            throw IPCError(.invalidArgument, operation: "semctl(SETALL)", object: object,
                           detail: "\(values.count) values for a set of \(count) members")
        }
        for value in values { try Self.checkValue(value, operation: "semctl(SETALL)", object: object) }
        var raw = values.map { UInt16($0) }
        if raw.withUnsafeMutableBufferPointer({ system_semctl_array(id, SETALL, $0.baseAddress!) }) != 0 {
            throw IPCError.last("semctl(SETALL)", object: object)
        }
    }

    /// The pid of the process that last performed an operation on `member`, or
    /// set it with `SETVAL` or `SETALL` (Linux counts those too); 0 if none has.
    ///
    /// The corresponding C function is `semctl` with `GETPID`.
    public func lastPID(of member: Int) throws(IPCError) -> pid_t {
        try control(GETPID, member: member, name: "semctl(GETPID)")
    }

    /// How many processes wait for `member` to increase (`semncnt`). On Linux a
    /// waiter is counted on the first member of its list that holds it up.
    ///
    /// The corresponding C function is `semctl` with `GETNCNT`.
    public func waitingForIncrease(of member: Int) throws(IPCError) -> Int {
        Int(try control(GETNCNT, member: member, name: "semctl(GETNCNT)"))
    }

    /// How many processes wait for `member` to become zero (`semzcnt`).
    ///
    /// The corresponding C function is `semctl` with `GETZCNT`.
    public func waitingForZero(of member: Int) throws(IPCError) -> Int {
        Int(try control(GETZCNT, member: member, name: "semctl(GETZCNT)"))
    }

    /// The set's permissions, number of members and times.
    ///
    /// The corresponding C function is `semctl` with `IPC_STAT`.
    public func status() throws(IPCError) -> Status {
        Status(try Self.stat(id: id))
    }

    private func control(_ command: CInt, member: Int, name: StaticString) throws(IPCError) -> CInt {
        try checkMember(member, name: name.description)
        let result = system_semctl(id, CInt(member), command)
        if result == -1 { throw IPCError.last(name.description, object: object) }
        return result
    }

    private func checkMember(_ member: Int, name: String) throws(IPCError) {
        guard member >= 0, member < count else {
            throw IPCError(.invalidArgument, operation: name, object: object,
                           detail: "member \(member) is not in the set, whose members are 0...\(count - 1)")
        }
    }
}
