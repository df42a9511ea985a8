import ArgumentParser

struct MessageQueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mq", abstract: "POSIX message queues (SPEC M1, M2).")
    func run() throws { throw ValidationError("not written yet") }
}
