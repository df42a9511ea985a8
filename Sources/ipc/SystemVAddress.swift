import ArgumentParser
import Interprocess
import SystemPackage

/// How a command names a System V object: `--key K` (decimal, 0x hex or
/// `private`), `--id N`, or `--path P --proj N` (the key `ftok` derives).
struct SystemVAddress: ParsableArguments {
    @Option(help: "The key: decimal, 0x-prefixed hex, or 'private'.") var key: String?
    @Option(help: "The identifier (as ipcs and ipc ls print it).") var id: Int32?
    @Option(help: "A file whose ftok key names the object (with --proj).") var path: String?
    @Option(help: "The ftok project id, 1-255 (with --path).") var proj: Int?

    func validate() throws {
        let given = [key != nil, id != nil, path != nil || proj != nil].filter { $0 }.count
        if given != 1 { throw ValidationError("name the object with exactly one of --key, --id, or --path with --proj") }
        if (path == nil) != (proj == nil) { throw ValidationError("--path and --proj go together") }
        if let proj, !(1...255).contains(proj) { throw ValidationError("--proj is 1 to 255 (ftok uses its low 8 bits, which must not be zero)") }
    }

    /// The key to create or open with; nil when the object was named by `--id`.
    func resolvedKey() throws(IPCError) -> IPCKey? {
        if let key { return try IPCKey(parsing: key) }
        if let path, let proj { return try IPCKey(path: FilePath(path), projectID: proj) }
        return nil
    }

    /// The identifier of the existing object of `kind` this address names.
    func identifier(of kind: SystemVKind) throws(IPCError) -> Int32 {
        if let id { return id }
        return try kind.identifier(for: resolvedKey()!)
    }

    /// The key for a command that creates; `--id` names an object that exists.
    func keyForCreating() throws -> IPCKey {
        guard let key = try resolvedKey() else { throw ValidationError("--id names an existing object; create with --key or --path/--proj") }
        return key
    }
}
