import ArgumentParser
import CIPCTool
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc bench-peer MECHANISM --size S [--cpu C] [--parent PID] [-- OBJECTS…]`: the
/// responder that `ipc bench` spawns (hidden). It attaches to the descriptors and
/// named objects it was handed, echoes until QUIT, and dies with its parent.
struct BenchPeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-peer", abstract: "The responder side of `ipc bench` (internal).", shouldDisplay: false)

    @Argument var mechanism: String
    @Option var size: Int
    @Option(help: "Pin to this CPU.") var cpu: CInt?
    @Option(help: "The parent's pid: exit at once if it is already gone.") var parent: CInt?
    @Option(help: "crash:N or stall:N — misbehave after N messages (tests).") var fault: String?
    @Argument(parsing: .postTerminator) var objects: [String] = []

    func run() throws {
        // Die with the parent (SIGKILL), and do not outlive one that is already gone.
        _ = cipc_kill_when_parent_dies()
        if let parent, getppid() != parent { throw ExitCode(3) }
        guard let entry = BenchMechanisms.named(mechanism) else {
            throw ValidationError("unknown mechanism '\(mechanism)'")
        }
        guard size >= benchMinimumMessageSize, entry.supports(size: size) else {
            throw ValidationError("size \(size) is not possible for \(mechanism)")
        }
        var peerFault: BenchPeerFault?
        if let fault {
            guard let parsed = BenchPeerFault(fault) else { throw ValidationError("--fault takes crash:N or stall:N") }
            peerFault = parsed
        }
        if let cpu { try CPUPlacement.pin(to: cpu) }
        try entry.respond(BenchPeerOptions(size: size, objects: objects, fault: peerFault))
    }
}
