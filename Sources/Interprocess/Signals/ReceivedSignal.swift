#if canImport(Glibc)
import Glibc
#endif

/// One signal a `SignalStream` received (SPEC P8, M4): what `siginfo_t` tells
/// about it.
public struct ReceivedSignal: Sendable, Hashable, CustomStringConvertible {
    /// The signal number (`si_signo`).
    public var signal: CInt
    /// How it was sent (`si_code`): `SI_USER` (kill), `SI_QUEUE` (sigqueue),
    /// `SI_TKILL` (tgkill), `SI_KERNEL`, `SI_MESGQ`, `SI_TIMER`…
    public var code: CInt
    /// The sender's process id (`si_pid`); 0 when the kernel sent it.
    public var senderPID: pid_t
    /// The sender's real user id (`si_uid`).
    public var senderUID: uid_t
    /// The integer the sender attached (`si_value.sival_int`): present when the
    /// signal came from `sigqueue` (`SI_QUEUE`), a message-queue notification
    /// (`SI_MESGQ`) or a POSIX timer (`SI_TIMER`); nil otherwise.
    public var value: Int32?

    public init(signal: CInt, code: CInt, senderPID: pid_t, senderUID: uid_t, value: Int32?) {
        self.signal = signal
        self.code = code
        self.senderPID = senderPID
        self.senderUID = senderUID
        self.value = value
    }

    /// "SIGRTMIN+1 from pid 4242 uid 0 value 7".
    public var description: String {
        "\(Signals.name(of: signal)) from pid \(senderPID) uid \(senderUID)" + (value.map { " value \($0)" } ?? "")
    }

    /// Codes whose `si_value` carries the sender's payload.
    static func carriesValue(_ code: CInt) -> Bool {
        code == SI_QUEUE || code == SI_MESGQ || code == SI_TIMER
    }
}
