import CInterprocess
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

extension PeerCommands {
    static let memory: [String: PeerCommand] = [:]
}
