import ArgumentParser
import Interprocess

/// `ipc rm`: Remove IPC objects (SPEC L2, V3).
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove IPC objects (SPEC L2, V3).")
}
