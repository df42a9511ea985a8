import CIPCTool
import ArgumentParser
import Interprocess

/// `ipc`: inspect, drive and measure interprocess communication from a shell.
///
/// `main` runs the command and turns whatever it throws into one line on stderr
/// and a status of `ExitStatus` (see `Contract/CommandOutcome.swift`).
@main
struct IPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipc",
        abstract: "Inspect, drive and measure Unix interprocess communication.",
        discussion: ExitStatus.table,
        version: IPCVersion.current,
        subcommands: [
            LimitsCommand.self, BenchCommand.self, BenchPeerCommand.self,
            MessageQueueCommand.self, SemaphoreCommand.self, SharedMemoryCommand.self,
            SystemVMessageQueueCommand.self, SemaphoreSetCommand.self,
            ChannelCommand.self, DoorCommand.self, ListCommand.self, RemoveCommand.self, LockCommand.self, SignalCommand.self,
        ]
    )

    /// Gives SIGQUIT its default action back (see `QuitSignal`), then runs the command.
    /// A daemon's start-up (`ipc door serve … --daemon`) comes first of all: started
    /// as the session leader, `ipc` spawns itself once more there and exits
    /// (`DaemonStartup`); in any other run it does nothing.
    static func main() {
        _ = DaemonStartup.current
        QuitSignal.restoreDefaultAction()
        _ = cipc_keep_stdout_errors()  // without it a failed write is reported as EIO
        CommandOutcome.runAndExit(Array(CommandLine.arguments.dropFirst()))
    }
}
