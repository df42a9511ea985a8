import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure every mechanism between two processes.")
    func run() throws { throw ValidationError("not written yet") }
}

struct BenchPeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-peer", abstract: "The responder side of `ipc bench` (internal).", shouldDisplay: false)
    func run() throws { throw ValidationError("not written yet") }
}
