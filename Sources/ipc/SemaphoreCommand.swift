import ArgumentParser
import Interprocess

/// `ipc sem create|wait|post|get|rm`: POSIX named semaphores (SPEC Y1).
struct SemaphoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sem", abstract: "POSIX named semaphores.",
        discussion: "Names look like /ready.\n\n" + ExitStatus.table,
        subcommands: [Create.self, Wait.self, Post.self, Get.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a semaphore (fails if the name exists).")
        @Argument(help: "The name, e.g. /ready.", transform: NameArgument.parser(for: .semaphore)) var name: NameArgument
        @Option(parsing: .unconditional, help: "The initial value, \(IntegerRange.semaphoreValue) (default 0).",
                transform: IntegerRange.semaphoreValue.parse)
        var value = 0
        @Option(parsing: .unconditional, help: ArgumentHelp(PosixObjectMode.help("the umask applies"), valueName: "mode"),
                transform: PosixObjectMode.parse)
        var mode = PosixObjectMode.ownerReadWrite

        func run() throws {
            _ = try PosixSemaphore.create(name.exact, value: value, permissions: mode.permissions)
        }
    }

    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrement the value, waiting while it is zero.")
        @Argument(help: "The name.", transform: NameArgument.parser(for: .semaphore)) var name: NameArgument
        @OptionGroup var waiting: WaitOptions

        func run() throws {
            let semaphore = try PosixSemaphore.open(name.exact)
            if waiting.nowait {
                if try !semaphore.tryWait() { throw fail("\(name) is zero: would block", .notNow) }
            } else if let timeout = waiting.timeout, let deadline = waiting.deadline() {
                do throws(IPCError) { try semaphore.wait(until: deadline) } catch {
                    if error.isTimeout { throw fail("timed out after \(timeout) s waiting for \(name)", .notNow) }
                    throw error
                }
            } else {
                try semaphore.wait()
            }
        }
    }

    struct Post: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Increment the value, waking one waiter.",
            discussion: "With --count N, posts N times; when a post fails (EOVERFLOW at SEM_VALUE_MAX), says how many were done.")
        @Argument(help: "The name.", transform: NameArgument.parser(for: .semaphore)) var name: NameArgument
        @Option(parsing: .unconditional, help: "Post this many times, \(IntegerRange.semaphorePosts) (default 1).",
                transform: IntegerRange.semaphorePosts.parse)
        var count = 1

        func run() throws {
            let semaphore = try PosixSemaphore.open(name.exact)
            for done in 0..<count {
                do throws(IPCError) { try semaphore.post() } catch {
                    if done == 0 { throw error }
                    throw fail("posted \(done) of \(count) times, then: \(error)", .failed)
                }
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the current value.")
        @Argument(help: "The name.", transform: NameArgument.parser(for: .semaphore)) var name: NameArgument

        func run() throws {
            try printResult("\(try PosixSemaphore.open(name.exact).value)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove the name (processes that have it open keep it).")
        @Argument(help: "The name.", transform: NameArgument.parser(for: .semaphore)) var name: NameArgument

        func run() throws {
            try PosixSemaphore.unlink(name.exact)
        }
    }
}
