import ArgumentParser
import Interprocess

/// `ipc sem create|wait|post|get|rm`: POSIX named semaphores (SPEC Y1).
struct SemaphoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sem", abstract: "POSIX named semaphores (SPEC Y1).",
        discussion: "Names look like /ready. Exit status: 0 done, 1 error, 2 timed out or would block.",
        subcommands: [Create.self, Wait.self, Post.self, Get.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a semaphore (fails if the name exists).")
        @Argument(help: "The name, e.g. /ready.") var name: String
        @Option(help: "The initial value (0 to SEM_VALUE_MAX).") var value = 0
        @Option(help: "Permission bits in octal (the umask applies).") var mode = PosixObjectMode.ownerReadWrite

        func run() throws {
            _ = try PosixSemaphore.create(name, value: value, permissions: mode.permissions)
        }
    }

    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrement the value, waiting while it is zero.")
        @Argument(help: "The name.") var name: String
        @Option(help: "Give up after this many seconds (exit status 2).") var timeout: Double?
        @Flag(name: .customLong("try"), help: "Do not wait: exit status 2 when the value is zero.") var tryOnly = false

        func run() throws {
            if let timeout, !(timeout >= 0 && timeout < 1e9) { throw ValidationError("--timeout takes seconds, at least 0") }
            let semaphore = try PosixSemaphore.open(name)
            if tryOnly {
                if try !semaphore.tryWait() { throw fail("\(name) is zero: would block", .notNow) }
            } else if let timeout {
                if try !semaphore.wait(until: .after(.nanoseconds(Int64(timeout * 1e9)))) {
                    throw fail("timed out after \(timeout) s waiting for \(name)", .notNow)
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
        @Argument(help: "The name.") var name: String
        @Option(help: "Post this many times.") var count = 1

        func run() throws {
            if count < 1 { throw ValidationError("--count must be at least 1") }
            let semaphore = try PosixSemaphore.open(name)
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
        @Argument(help: "The name.") var name: String

        func run() throws {
            try printResult("\(try PosixSemaphore.open(name).value)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove the name (processes that have it open keep it).")
        @Argument(help: "The name.") var name: String

        func run() throws {
            try PosixSemaphore.unlink(name)
        }
    }
}
