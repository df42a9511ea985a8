import ArgumentParser
import Dispatch
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How every `ipc` command ends: it runs, then whatever it threw becomes one line
/// on stderr (`ipc: …`, with the command's usage for a usage error) and an
/// `ExitStatus`; stdout is flushed and checked last, so lost output is a failure.
/// Nothing of ArgumentParser's internals or a Swift error dump is ever printed.
enum CommandOutcome {
    /// Parses `arguments`, runs the command, reports, flushes stdout and exits.
    ///
    /// A synchronous command runs here, on the main thread: so the signals that
    /// `ipc signal watch` blocks are blocked in every thread, and reach it in the
    /// kernel's order. An asynchronous one (`mq watch`) runs as a task, and the
    /// main thread is given to Dispatch (`dispatchMain`).
    static func runAndExit(_ arguments: [String]) -> Never {
        let command: ParsableCommand
        do { command = try IPC.parseAsRoot(arguments) } catch { Glibc.exit(finish(report(error, of: nil))) }
        if let asynchronous = command as? AsyncParsableCommand {
            let box = UncheckedCommand(command: asynchronous)
            Task {
                var command = box.command
                let status: Int32
                do {
                    try await command.run()
                    status = ExitStatus.success.rawValue
                } catch {
                    status = report(error, of: type(of: command))
                }
                Glibc.exit(finish(status))
            }
            dispatchMain()
        }
        var synchronous = command
        do {
            try synchronous.run()
            Glibc.exit(finish(ExitStatus.success.rawValue))
        } catch {
            Glibc.exit(finish(report(error, of: type(of: command))))
        }
    }

    /// A parsed command handed to the task that runs it (parsed values only).
    private struct UncheckedCommand: @unchecked Sendable {
        let command: AsyncParsableCommand
    }

    /// Reports `error`, thrown by parsing or by running `command`, and returns its status.
    static func report(_ error: Error, of command: ParsableCommand.Type?) -> Int32 {
        switch error {
        case let exit as ExitCode:
            return exit.rawValue
        case let error as IPCError:
            warn(error.description)
            return ExitStatus(error).rawValue
        case let error as ValidationError:
            return usageError(error.message, of: command)
        default:
            break
        }
        // An error `validate()` threw comes back wrapped in ArgumentParser's own
        // error, with the stack of commands it came from: report what is inside.
        if let (inner, stack) = thrownByValidate(error) {
            return report(inner, of: stack.last(where: isOurs) ?? command)
        }
        let code = IPC.exitCode(for: error)
        if code == .success {  // --help, --version, `ipc help mq`
            print(IPC.fullMessage(for: error))
            return ExitStatus.success.rawValue
        }
        let message = readable(IPC.message(for: error))
        if code == .validationFailure {
            return usageError(message, of: parsedCommand(of: error) ?? command)
        }
        warn(message)
        return code.rawValue == 0 ? ExitStatus.failed.rawValue : code.rawValue
    }

    /// Flushes stdout: a command whose output could not be written fails (status 1,
    /// unless it had already failed); a closed pipe ends `ipc` as it ends `cat`, by
    /// SIGPIPE.
    static func finish(_ status: Int32) -> Int32 {
        do {
            try flushStandardOutput()
            return status
        } catch {
            if error.errno == .brokenPipe {
                signal(SIGPIPE, SIG_DFL)
                raise(SIGPIPE)
            }
            warn(error.description)
            return status == ExitStatus.success.rawValue ? ExitStatus.failed.rawValue : status
        }
    }

    /// `ipc: MESSAGE`, then the usage of the command and where its help is; status 64.
    private static func usageError(_ message: String, of command: ParsableCommand.Type?) -> Int32 {
        let command = command ?? IPC.self
        let path = (commandPath(to: command, from: IPC.self) ?? ["ipc"]).joined(separator: " ")
        let usage = IPC.usageString(for: command).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        warn(message)
        var text = "Usage: \(usage)\n  See '\(path) --help' for more information.\n"
        _ = text.withUTF8 { write(2, $0.baseAddress, $0.count) }
        return ExitStatus.usage.rawValue
    }

    /// `["ipc", "mq", "create"]` for `MessageQueueCommand.Create`.
    private static func commandPath(to target: ParsableCommand.Type, from root: ParsableCommand.Type) -> [String]? {
        if target == root { return [root._commandName] }
        for child in root.configuration.subcommands {
            if let rest = commandPath(to: target, from: child) { return [root._commandName] + rest }
        }
        return nil
    }

    /// A command of `ipc`'s own tree (not one ArgumentParser made to parse an option group).
    private static func isOurs(_ command: ParsableCommand.Type) -> Bool {
        commandPath(to: command, from: IPC.self) != nil
    }

    /// The error `validate()` threw and the command stack, when ArgumentParser wrapped
    /// one (its `CommandError` with `ParserError.userValidationError`); read by
    /// reflection, as ArgumentParser does not make them public.
    private static func thrownByValidate(_ error: Error) -> (Error, [ParsableCommand.Type])? {
        let mirror = Mirror(reflecting: error)
        guard let stack = mirror.descendant("commandStack") as? [ParsableCommand.Type],
              let parserError = mirror.descendant("parserError"),
              let inner = Mirror(reflecting: parserError).descendant("userValidationError") as? Error
        else { return nil }
        return (inner, stack)
    }

    /// The subcommand a parse error is about, for its usage.
    private static func parsedCommand(of error: Error) -> ParsableCommand.Type? {
        let stack = Mirror(reflecting: error).descendant("commandStack") as? [ParsableCommand.Type]
        return stack?.last(where: isOurs)
    }

    /// The message, unless it is a dump of a Swift value (ArgumentParser describes an
    /// error it does not know with `String(describing:)`).
    private static func readable(_ message: String) -> String {
        let internals = ["CommandError(", "ParserError.", "ArgumentParser.", "_Wrapped"]
        if internals.contains(where: message.contains) { return "invalid arguments" }
        return message.isEmpty ? "failed" : message
    }
}
