/// The initialisation state of a placed object: the 32-bit word at offset 8 of its
/// header, changed only by compare-and-swap (to claim it) and by the initialiser
/// (to publish it), and slept on with a futex by openers.
///
/// | word | state |
/// |---|---|
/// | 0 | empty: nobody has begun (a new object reads as zeros) |
/// | 1 … 0x3fff_ffff | initialising, by the process with that pid |
/// | 0x8000_0000 | ready: every part initialised, the header filled in |
/// | anything else | not a placement state: junk, refused |
enum PlacementState: Equatable, Sendable {
    case empty
    case initialising(by: Int32)
    case ready
    case invalid(UInt32)

    static let readyWord: UInt32 = 0x8000_0000
    /// Pids fit in `FUTEX_TID_MASK` (the kernel's PID_MAX_LIMIT is 2^22).
    static let largestPid: UInt32 = 0x3fff_ffff

    init(word: UInt32) {
        switch word {
        case 0: self = .empty
        case 1...Self.largestPid: self = .initialising(by: Int32(word))
        case Self.readyWord: self = .ready
        default: self = .invalid(word)
        }
    }

    /// The word for a process that claims the object.
    static func initialisingWord(pid: Int32) -> UInt32? {
        pid > 0 && UInt32(pid) <= largestPid ? UInt32(pid) : nil
    }
}
