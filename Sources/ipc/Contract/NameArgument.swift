import ArgumentParser
import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX IPC name given on the command line, kept as the exact bytes of its
/// argument: `ipc mq create $'/\xff\xfe'` makes the queue `/\xff\xfe`, not one
/// named with two U+FFFD characters.
///
/// The argument parser sees `CommandLine.arguments`, where Swift has already
/// repaired invalid UTF-8; this type finds the raw `argv` element whose repaired
/// decoding is the parsed string and keeps its bytes. Shown (`description`), the
/// name is escaped by `EscapedText`.
struct NameArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    /// The name with the argument's exact bytes.
    let exact: PosixIPCName

    init?(argument: String) {
        exact = PosixIPCName(bytes: RawArguments.claim(argument))
    }

    var description: String { exact.description }
}

/// The raw bytes of the process's arguments, from `CommandLine.unsafeArgv`.
enum RawArguments {
    /// The raw arguments (without the program name) not yet claimed by a
    /// `NameArgument` or a message text (`mq send`, `msg send`), so two arguments that repair to the same text each get
    /// their own bytes, in order.
    private static let unclaimed = Mutex<[[UInt8]]>(
        (1..<Int(CommandLine.argc)).compactMap { index in
            CommandLine.unsafeArgv[index].map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) }
        })

    /// The bytes of the first unclaimed argument whose lossy UTF-8 decoding is
    /// `text`, or the UTF-8 of `text` when none is (e.g. a value given as
    /// `--option=text`, or the parser running without the process's argv).
    static func claim(_ text: String) -> [UInt8] {
        unclaimed.withLock { arguments in
            guard let index = arguments.firstIndex(where: { String(decoding: $0, as: UTF8.self) == text }) else {
                return Array(text.utf8)
            }
            return arguments.remove(at: index)
        }
    }
}

extension NameArgument {
    /// The transform of a name argument (`@Argument(transform: NameArgument.parser(for: .messageQueue))`):
    /// keeps the exact bytes and checks the name for `kind` while the arguments are
    /// parsed, so a malformed name (`orders`, `/a/b`, too long) is a usage error
    /// (exit status 64) like any other wrong argument, not a failed call.
    static func parser(for kind: PosixIPCName.Kind) -> @Sendable (String) throws -> NameArgument {
        { text in
            let name = NameArgument(exact: PosixIPCName(bytes: RawArguments.claim(text)))
            do throws(IPCError) { try name.exact.validate(for: kind) } catch {
                let why = error.detail ?? "\(error)"
                throw ValidationError(error.errno == .fileNameTooLong ? "too long: \(why)" : why)
            }
            return name
        }
    }

    private init(exact: PosixIPCName) { self.exact = exact }
}
