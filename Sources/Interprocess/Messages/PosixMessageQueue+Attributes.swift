import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

extension PosixMessageQueue {
    /// What `mq_getattr` reports about an open queue (SPEC M1).
    ///
    /// `maxMessages` and `messageSize` are fixed when the queue is created;
    /// `isNonBlocking` belongs to the open queue description (changed with
    /// `PosixMessageQueue.setNonBlocking(_:)`); `currentMessages` is a snapshot.
    public struct Attributes: Hashable, Sendable, CustomStringConvertible {
        /// Whether `O_NONBLOCK` is set: blocking calls report `EAGAIN` instead of waiting.
        public var isNonBlocking: Bool
        /// How many messages the queue holds at most (`mq_maxmsg`).
        public var maxMessages: Int
        /// The largest message, in bytes (`mq_msgsize`).
        public var messageSize: Int
        /// How many messages are in the queue now (`mq_curmsgs`).
        public var currentMessages: Int

        public init(isNonBlocking: Bool, maxMessages: Int, messageSize: Int, currentMessages: Int) {
            self.isNonBlocking = isNonBlocking
            self.maxMessages = maxMessages
            self.messageSize = messageSize
            self.currentMessages = currentMessages
        }

        init(_ attributes: mq_attr) {
            self.init(isNonBlocking: attributes.mq_flags & Int(O_NONBLOCK) != 0, maxMessages: attributes.mq_maxmsg,
                      messageSize: attributes.mq_msgsize, currentMessages: attributes.mq_curmsgs)
        }

        public var description: String {
            "\(currentMessages) of \(maxMessages) messages of at most \(messageSize) bytes\(isNonBlocking ? ", non-blocking" : "")"
        }
    }
}
