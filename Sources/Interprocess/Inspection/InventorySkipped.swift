#if canImport(Glibc)
import Glibc
#endif

extension IPCInventory {
    /// A file found where objects of `kind` live that is no such object — a FIFO,
    /// a directory, a symbolic link in /dev/shm (SPEC L2). It is never opened (a
    /// FIFO would block, a link could point anywhere); the inventory says it was
    /// left out, and why.
    public struct Skipped: Hashable, Sendable {
        /// The kind its name would make it: `pshm`, `psem` (`sem.NAME`) or `mq`.
        public var kind: Kind
        /// The exact bytes of its path (`/dev/shm/NAME`); `EscapedText.render`
        /// shows it.
        public var path: [UInt8]
        /// The file's owner.
        public var ownerUID: uid_t
        /// Why it was left out: "a FIFO, not a regular file".
        public var reason: String

        public init(kind: Kind, path: [UInt8], ownerUID: uid_t, reason: String) {
            self.kind = kind
            self.path = path
            self.ownerUID = ownerUID
            self.reason = reason
        }
    }
}
