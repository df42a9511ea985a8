import ArgumentParser

struct SemaphoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sem", abstract: "POSIX named semaphores (SPEC Y1).")
    func run() throws { throw ValidationError("not written yet") }
}
