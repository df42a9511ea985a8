import ArgumentParser
import Interprocess

/// `ipc msg`: System V message queues (SPEC M3).
struct SystemVMessageQueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "msg", abstract: "System V message queues (SPEC M3).")
}
