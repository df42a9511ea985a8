/// The version `ipc --version` prints: the one place it is written.
enum IPCVersion {
    static let current = "0.1.0"
}
