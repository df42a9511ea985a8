import Interprocess

/// The ranges of numeric options that come from the kernel's or libc's limits,
/// each named after its limit as `ipc limits` prints it.
extension IntegerRange where Value == Int {
    /// A POSIX queue's capacity: HARD_MSGMAX, the kernel's cap even for root.
    static let queueCapacity = IntegerRange(1...65536, source: "HARD_MSGMAX; unprivileged at most fs.mqueue.msg_max, see ipc limits")
    /// A POSIX queue's message size: HARD_MSGSIZEMAX, the kernel's cap even for root.
    static let queueMessageSize = IntegerRange(1...16_777_216, source: "HARD_MSGSIZEMAX; unprivileged at most fs.mqueue.msgsize_max, see ipc limits")
    /// A POSIX semaphore's value.
    static let semaphoreValue = IntegerRange(0...PosixSemaphore.maximumValue, source: "SEM_VALUE_MAX")
    /// How many posts at once: more would pass SEM_VALUE_MAX in any case.
    static let semaphorePosts = IntegerRange(1...PosixSemaphore.maximumValue, source: "SEM_VALUE_MAX")
    /// A System V semaphore's value.
    static let setValue = IntegerRange(0...SystemVSemaphoreSet.maximumValue, source: "SEMVMX")
    /// One operation's change to a member.
    static let setChange = IntegerRange(-SystemVSemaphoreSet.maximumValue...SystemVSemaphoreSet.maximumValue, source: "SEMVMX")
    /// The members of one System V semaphore set.
    static let setMembers = IntegerRange(1...semaphoresPerSet, source: "SEMMSL on this host, see ipc limits")
    /// A member's index.
    static let setMember = IntegerRange(0...(semaphoresPerSet - 1), source: "below SEMMSL on this host")
    /// A System V queue's capacity in bytes (msg_qbytes).
    static let messageQueueBytes = IntegerRange(1...SystemVMessageQueue.maximumQueueBytesLimit,
                                                source: "msgctl takes it as a C int; above kernel.msgmnb needs CAP_SYS_RESOURCE")
    /// A System V message type to send: positive.
    static let messageType = IntegerRange(1...Int.max)
    /// A System V message type to receive: 0, N or -N (every `long`).
    static let messageSelector = IntegerRange(Int.min...Int.max)

    /// SEMMSL as `ipc limits` reads it (32000 unless changed).
    private static let semaphoresPerSet: Int = {
        guard let value = SystemLimits.current()["SEMMSL"]?.value.number, value >= 1 else { return 32000 }
        return Int(clamping: value)
    }()
}

extension IntegerRange where Value == UInt32 {
    /// A POSIX message's priority.
    static let queuePriority = IntegerRange(0...(PosixMessageQueue.priorityLimit - 1), source: "below MQ_PRIO_MAX")
}
