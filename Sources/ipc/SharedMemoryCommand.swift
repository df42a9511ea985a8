import ArgumentParser

struct SharedMemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shm", abstract: "POSIX shared memory objects (SPEC H3).")
    func run() throws { throw ValidationError("not written yet") }
}
