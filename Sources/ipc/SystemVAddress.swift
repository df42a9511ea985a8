import ArgumentParser
import Interprocess
import SystemPackage

/// How a command names a System V object: `--key K` (decimal, 0x hex or
/// `private`), `--id N`, or `--path P --proj N` (the key `ftok` derives).
struct SystemVAddress: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(SystemVAddress.keyHelp, valueName: "key"), transform: SystemVAddress.parseKey)
    var key: IPCKey?
    @Option(parsing: .unconditional, help: "The identifier, as ipcs and ipc ls print it (\(IntegerRange.systemVIdentifier)).",
            transform: IntegerRange.systemVIdentifier.parse)
    var id: Int32?
    @Option(help: "A file whose ftok key names the object (with --proj).") var path: String?
    @Option(parsing: .unconditional, help: "The ftok project id (with --path): \(IntegerRange.projectID).",
            transform: IntegerRange.projectID.parse)
    var proj: Int?

    /// What `--key` takes, as every command's help says it.
    static let keyHelp = "The key: decimal or 0x-prefixed hex, not 0 and without a leading 0 (ambiguous), or 'private' (IPC_PRIVATE)."

    /// `--key` text as a key; what `IPCKey(parsing:)` refuses is a usage error.
    @Sendable static func parseKey(_ text: String) throws -> IPCKey {
        do { return try IPCKey(parsing: text) } catch { throw ValidationError(error.detail ?? error.description) }
    }

    func validate() throws {
        let given = [key != nil, id != nil, path != nil || proj != nil].filter { $0 }.count
        if given != 1 { throw ValidationError("name the object with exactly one of --key, --id, or --path with --proj") }
        if (path == nil) != (proj == nil) { throw ValidationError("--path and --proj go together") }
    }

    /// The key to create or open with; nil when the object was named by `--id`.
    func resolvedKey() throws(IPCError) -> IPCKey? {
        if let key { return key }
        if let path, let proj { return try IPCKey(path: FilePath(path), projectID: proj) }
        return nil
    }

    /// The identifier of the existing object of `kind` this address names.
    func identifier(of kind: SystemVKind) throws(IPCError) -> Int32 {
        if let id { return id }
        return try kind.identifier(for: resolvedKey()!)
    }

    /// The key for a command that creates; `--id` names an object that exists
    /// (a usage error, which `validateForCreating` reports before anything runs).
    func keyForCreating() throws -> IPCKey {
        guard let key = try resolvedKey() else { throw ValidationError(Self.idCannotCreate) }
        return key
    }

    /// For `validate()` of a command that creates: `--id` cannot name a new object.
    func validateForCreating() throws {
        if id != nil { throw ValidationError(Self.idCannotCreate) }
    }

    private static let idCannotCreate = "--id names an existing object; create with --key or --path/--proj"
}
