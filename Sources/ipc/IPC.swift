import ArgumentParser

/// `ipc`: inspect, drive and measure interprocess communication from a shell.
@main
struct IPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipc",
        abstract: "Inspect, drive and measure Unix interprocess communication.",
        subcommands: [
            LimitsCommand.self, BenchCommand.self, BenchPeerCommand.self,
            MessageQueueCommand.self, SemaphoreCommand.self, SharedMemoryCommand.self,
            SystemVMessageQueueCommand.self, SemaphoreSetCommand.self,
            ListCommand.self, RemoveCommand.self,
        ]
    )

    /// Gives SIGQUIT its default action back (see `QuitSignal`), then runs the command.
    static func main() async {
        QuitSignal.restoreDefaultAction()
        await main(nil)
    }
}
