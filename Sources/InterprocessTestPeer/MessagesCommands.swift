import CInterprocess
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

extension PeerCommands {
    static let messages: [String: PeerCommand] = [:]
}
