import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// `ipc semset create|op|get|set|stat|rm`: System V semaphore sets (SPEC Y3).
struct SemaphoreSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "semset", abstract: "System V semaphore sets.",
        discussion: """
            Name a set with --key K (decimal or 0x hex; 'private' for a new private set), \
            --id N, or --path P --proj N. \
            Operations are MEMBER:DELTA: 0:-1 takes one unit from member 0 (waiting for it), \
            1:+2 adds two to member 1, 2:0 waits until member 2 is zero; several are performed \
            atomically.


            """ + ExitStatus.table,
        subcommands: [Create.self, Operate.self, Get.self, Set.self, Stat.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create and initialise a set (fails if the key is taken); print its id.")
        @OptionGroup var address: SystemVAddress
        @Option(parsing: .unconditional, help: "The number of members, \(IntegerRange.setMembers).",
                transform: IntegerRange.setMembers.parse)
        var count: Int
        @Option(help: "Initial values, one per member, each \(IntegerRange.setValue): 1,0,2 (default all 0).") var values: String?
        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("no umask applies"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite

        func validate() throws {
            try address.validateForCreating()
            if let values {
                let initial = try parseValues(values)
                if initial.count != count { throw ValidationError("--values gives \(initial.count) values for \(count) members") }
            }
        }

        func run() throws {
            let initial = try values.map { try parseValues($0) }
            let set = try SystemVSemaphoreSet.create(key: address.keyForCreating(), count: count,
                                                     permissions: mode.permissions, initialValues: initial)
            try printCreated("\(set.id)", created: "created semaphore set id \(set.id)")
        }
    }

    struct Operate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "op", abstract: "Perform operations atomically: all of them or, while one cannot, none.")
        @OptionGroup var address: SystemVAddress
        // `.allUnrecognized`: a word that starts with "-" (`-1:+1`) is an
        // operation to check, not an unknown option that hides the real mistake.
        @Argument(parsing: .allUnrecognized, help: "Operations MEMBER:DELTA, e.g. 0:-1 1:+1 2:0.") var operations: [String]
        @Flag(help: "SEM_UNDO: undo the changes when this process exits.") var undo = false
        @OptionGroup var waiting: WaitOptions

        func validate() throws {
            if operations.isEmpty { throw ValidationError("give at least one operation, e.g. 0:-1") }
            _ = try parsedOperations()
        }

        /// The operations as the library reads them; a malformed one is a usage error.
        func parsedOperations() throws -> [SystemVSemaphoreSet.Operation] {
            try operations.map { text in
                var operation: SystemVSemaphoreSet.Operation
                do throws(IPCError) { operation = try SystemVSemaphoreSet.Operation(parsing: text) } catch {
                    throw ValidationError("operation '\(text)': \(error.detail ?? error.description)")
                }
                if !IntegerRange.setMember.bounds.contains(operation.member) {
                    throw ValidationError("operation '\(text)': member out of range: give \(IntegerRange.setMember)")
                }
                if !IntegerRange.setChange.bounds.contains(operation.delta) {
                    throw ValidationError("operation '\(text)': change out of range: give \(IntegerRange.setChange)")
                }
                if undo { operation.flags.insert(.undo) }
                return operation
            }
        }

        func run() throws {
            let list = try parsedOperations()
            let set = try openSet(address)
            let text = list.map(\.description).joined(separator: " ")
            if waiting.nowait {
                if try !set.tryPerform(list) { throw fail("\(text) would block", .notNow) }
            } else if let timeout = waiting.timeout, let deadline = waiting.deadline() {
                do throws(IPCError) { try set.perform(list, until: deadline) } catch {
                    if error.isTimeout { throw fail("timed out after \(timeout) s waiting to perform \(text)", .notNow) }
                    throw error
                }
            } else {
                try set.perform(list)
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the values (1,0,2), or one member's.")
        @OptionGroup var address: SystemVAddress
        @Option(parsing: .unconditional, help: "Only this member, \(IntegerRange.setMember).", transform: IntegerRange.setMember.parse)
        var member: Int?

        func run() throws {
            let set = try openSet(address)
            if let member {
                print(try set.value(of: member))
            } else {
                print(try set.values().map(String.init).joined(separator: ","))
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set one member (--member n --value v) or all (--values 1,2,3).")
        @OptionGroup var address: SystemVAddress
        @Option(parsing: .unconditional, help: "The member to set (with --value), \(IntegerRange.setMember).",
                transform: IntegerRange.setMember.parse)
        var member: Int?
        @Option(parsing: .unconditional, help: "Its new value, \(IntegerRange.setValue).", transform: IntegerRange.setValue.parse)
        var value: Int?
        @Option(help: "New values for every member, each \(IntegerRange.setValue): 1,2,3.") var values: String?

        func validate() throws {
            if (member == nil) != (value == nil) { throw ValidationError("--member and --value go together") }
            if (member == nil) == (values == nil) { throw ValidationError("give either --member with --value, or --values") }
            if let values { _ = try parseValues(values) }
        }

        func run() throws {
            let set = try openSet(address)
            if let member, let value {
                try set.setValue(value, of: member)
            } else if let values {
                try set.setValues(parseValues(values))
            }
        }
    }

    struct Stat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print owner, mode, times, and each member's value, waiters and last pid.")
        @OptionGroup var address: SystemVAddress
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let set = try SystemVSemaphoreSet(id: address.identifier(of: .semaphoreSet))
            let status = try set.status()
            var members: [(value: Int, ncnt: Int, zcnt: Int, pid: Int32)] = []
            for member in 0..<set.count {
                members.append((try set.value(of: member), try set.waitingForIncrease(of: member),
                                try set.waitingForZero(of: member), try set.lastPID(of: member)))
            }
            let perm = status.permissions
            let mode = "0" + String(perm.mode.rawValue, radix: 8)
            if json {
                print(JSONValue.object([
                    ("id", .integer(Int64(set.id))), ("key", .string(perm.key.description)),
                    ("uid", .unsigned(UInt64(perm.uid))), ("gid", .unsigned(UInt64(perm.gid))),
                    ("cuid", .unsigned(UInt64(perm.creatorUID))), ("cgid", .unsigned(UInt64(perm.creatorGID))),
                    ("mode", .string(mode)), ("count", .integer(Int64(status.count))),
                    ("otime", status.lastOperationTime.map { .integer(Int64($0)) } ?? .null),
                    ("ctime", .integer(Int64(status.changeTime))),
                    ("members", .array(members.enumerated().map { index, member in
                        .object([("member", .integer(Int64(index))), ("value", .integer(Int64(member.value))),
                                 ("ncnt", .integer(Int64(member.ncnt))), ("zcnt", .integer(Int64(member.zcnt))),
                                 ("pid", .integer(Int64(member.pid)))])
                    })),
                ]).rendered())
            } else {
                print("""
                    id: \(set.id)
                    key: \(perm.key)
                    owner: uid \(perm.uid) gid \(perm.gid)
                    creator: uid \(perm.creatorUID) gid \(perm.creatorGID)
                    mode: \(mode)
                    members: \(status.count)
                    last operation: \(status.lastOperationTime.map(localTimeText) ?? "never")
                    changed: \(localTimeText(status.changeTime))
                    member  value  ncnt  zcnt  pid
                    """)
                for (index, member) in members.enumerated() {
                    print(pad(index, 6) + "  " + pad(member.value, 5) + "  " + pad(member.ncnt, 4) + "  "
                          + pad(member.zcnt, 4) + "  " + String(member.pid))
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove the set now; waiting processes fail with EIDRM.")
        @OptionGroup var address: SystemVAddress

        func run() throws {
            try SystemVKind.semaphoreSet.remove(id: address.identifier(of: .semaphoreSet))
        }
    }
}

/// The set an address names, as it is: `ipc` inspects and drives sets other
/// programs made (`ipcmk -S`, C code using SETALL), which do not mark a set
/// initialised the way `SystemVSemaphoreSet.create` does, so it does not wait for that.
private func openSet(_ address: SystemVAddress) throws -> SystemVSemaphoreSet {
    try SystemVSemaphoreSet(id: address.identifier(of: .semaphoreSet))
}

/// `1,0,2` as values, each in the range of a member's value; a usage error otherwise.
private func parseValues(_ text: String) throws -> [Int] {
    try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
        let trimmed = String(item.drop { $0 == " " })
        do { return try IntegerRange.setValue.parse(trimmed) } catch let error as ValidationError {
            throw ValidationError("value '\(trimmed)' of '\(text)': \(error.message) (values are separated by commas, e.g. 1,0,2)")
        }
    }
}

private func pad(_ value: some BinaryInteger, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

