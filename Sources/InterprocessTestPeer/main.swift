// The peer process for multi-process tests: `InterprocessTestPeer COMMAND ARGS…`.
// Each area of the library adds its commands in a file of its own (an extension of
// `PeerCommands`) and lists its table in `PeerCommands.all` below.
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let command = PeerCommands.all[name] else {
    FileHandleStandardError.write("usage: InterprocessTestPeer COMMAND ARGS…; commands: \(PeerCommands.all.keys.sorted().joined(separator: " "))\n")
    exit(64)
}
do {
    exit(try command(Array(arguments.dropFirst())))
} catch {
    FileHandleStandardError.write("peer \(name): \(error)\n")
    exit(70)
}
