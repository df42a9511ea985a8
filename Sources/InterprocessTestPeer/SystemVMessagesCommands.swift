import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for System V message queues.

extension PeerCommands {
    static let systemVMessages: [String: PeerCommand] = [:]
}
