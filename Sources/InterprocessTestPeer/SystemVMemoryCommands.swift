import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for System V shared memory.

extension PeerCommands {
    static let systemVMemory: [String: PeerCommand] = [:]
}
