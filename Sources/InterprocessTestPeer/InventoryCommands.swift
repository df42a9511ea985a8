import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the host-wide inventory (ipc ls / ipc rm).

extension PeerCommands {
    static let inventory: [String: PeerCommand] = [:]
}
