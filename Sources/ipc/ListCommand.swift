import ArgumentParser
import Interprocess

/// `ipc ls`: List every IPC object on the host (SPEC L2).
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List every IPC object on the host (SPEC L2).")
}
