import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for System V semaphore sets.

extension PeerCommands {
    static let systemVSemaphores: [String: PeerCommand] = [:]
}
