extension SharedMemoryChannel {
    /// What a sender does when its ring is full (SPEC M5), chosen at creation and
    /// recorded in the memory, so every sender of the channel follows it.
    ///
    /// Only the waiting forms (`send`, `send(until:)`, `send(timeout:)`,
    /// `sendAsync`) follow the policy; `trySend` never waits, drops or throws for a
    /// full ring under any policy: it returns nil (false).
    public enum FullPolicy: UInt64, Sendable, CaseIterable, CustomStringConvertible {
        /// Wait until the receiver makes room (spin, then sleep), or until the
        /// deadline. No message is ever lost or duplicated.
        case block = 0
        /// Throw `EAGAIN` at once: the caller decides.
        case fail = 1
        /// Discard the message and count it (`Sender.droppedCount`, the channel's
        /// `status`): the sender never waits. An in-place send still calls its
        /// closure, on a private scratch buffer, so it returns its result.
        case drop = 2

        public var description: String {
            switch self {
            case .block: "block"
            case .fail: "fail"
            case .drop: "drop"
            }
        }

        /// The policy named `name` (`block`, `fail`, `drop`), or nil.
        public init?(named name: String) {
            guard let policy = Self.allCases.first(where: { $0.description == name }) else { return nil }
            self = policy
        }
    }
}
