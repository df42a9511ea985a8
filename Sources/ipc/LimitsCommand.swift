import ArgumentParser

struct LimitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "limits", abstract: "Print the IPC limits of this host (SPEC L1).")
    func run() throws { throw ValidationError("not written yet") }
}
