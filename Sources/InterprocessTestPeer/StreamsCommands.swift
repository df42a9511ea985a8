import Interprocess

#if canImport(Glibc)
import Glibc
#endif

extension PeerCommands {
    static let streams: [String: PeerCommand] = [:]
}
