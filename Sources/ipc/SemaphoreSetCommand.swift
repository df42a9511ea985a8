import ArgumentParser
import Interprocess

/// `ipc semset`: System V semaphore sets (SPEC Y3).
struct SemaphoreSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "semset", abstract: "System V semaphore sets (SPEC Y3).")
}
