import Foundation
import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// README.md's examples work as written: every line of its ```sh blocks runs, in
/// order, with `sh -c` and exits 0, and every inline `ipc …` example is one of them.
@Suite("README examples", .serialized)
struct ReadmeExamplesTests {
    /// Where `ipc` and `fifo-echo` are built; put first on PATH, for `swift run X` → `X`.
    static let buildDirectory = String(IPCTool.path.dropLast("/ipc".count))

    @Test("every line of the README's sh blocks runs as written and exits 0, and leaves nothing behind")
    func shellBlocksRun() throws {
        let examples = try ReadmeExamples.load()
        #expect(examples.lines.count >= 30, "the README's examples were found")
        var names = UniqueNames()
        defer { names.removeEverything() }
        var background: [pid_t] = []
        defer { for pid in background { kill(pid, SIGTERM) } }
        let directory = TestObjects.temporaryPath("readme")
        #expect(mkdir(directory, 0o700) == 0)
        defer { rmdir(directory) }

        for line in examples.lines {
            guard var command = Self.runnable(line.command) else { continue }
            command = names.substituting(in: command)
            if line.isBackground {
                background.append(try Self.startInBackground(String(command.dropLast()), directory: directory, line: line))
                continue
            }
            let run = try runToCompletion(Self.shell(command, directory: directory), timeout: .seconds(120))
            #expect(run.status == .exited(0) && !run.timedOut,
                    "README.md:\(line.lineNumber): \(line.command)\n(ran: \(command))\nstdout: \(run.stdout)\nstderr: \(run.stderr)")
        }
        #expect(names.leftBehind().isEmpty, "the README's examples remove what they make: \(names.leftBehind())")
    }

    @Test("the README's msg example pair works: a type-3 message is received by --type -5 (the lowest type <= 5)")
    func messageTypesExample() throws {
        let examples = try ReadmeExamples.load()
        let send = try #require(examples.lines.first { $0.command.hasPrefix("ipc msg send") && $0.command.contains("--type") })
        let recv = try #require(examples.lines.first { $0.command.hasPrefix("ipc msg recv") && $0.command.contains("--type") })
        func type(_ command: String) -> Int? {
            let words = command.split(separator: " ")
            return words.firstIndex(of: "--type").flatMap { Int(words[$0 + 1]) }
        }
        let sent = try #require(type(send.command)), selector = try #require(type(recv.command))
        #expect(selector == 0 || selector == sent || (selector < 0 && sent <= -selector), "\(send.command) then \(recv.command) would wait for ever")
    }

    @Test("every inline `ipc …` example in the README's prose is a synopsis or one of the examples that run")
    func inlineExamplesAreRun() throws {
        let examples = try ReadmeExamples.load()
        let run = examples.lines.compactMap { Self.runnable($0.command) }.map { $0.split(separator: " ") }
        // Removes every object the user owns, including other tests' on this host.
        let notRun: Set<String> = ["ipc rm --all-mine"]
        for span in examples.inlineCommands where !Self.isSynopsis(span) && !notRun.contains(span) {
            let words = span.split(separator: " ")
            #expect(run.contains { $0.starts(with: words) }, "`\(span)` is not among the README's sh examples, so it is never run")
        }
    }

    @Test("the README's Swift taste is the code compiled in ReadmeTaste.swift with only `import Interprocess`")
    func swiftTasteCompiles() throws {
        let examples = try ReadmeExamples.load()
        let block = try #require(examples.swiftBlocks.first, "the README has a ```swift block")
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ReadmeTaste.swift"), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let begin = try #require(lines.firstIndex { $0.hasSuffix("// README begin") })
        let end = try #require(lines.firstIndex { $0.hasSuffix("// README end") })
        let compiled = lines[(begin + 1)..<end].map { $0.hasPrefix("    ") ? String($0.dropFirst(4)) : $0 }
        #expect(lines.filter { $0.hasPrefix("import ") } == ["import Interprocess"])
        #expect(Array(block.prefix(2)) == ["import Interprocess", ""])
        #expect(Array(block.dropFirst(2)) == compiled, "README.md's ```swift block differs from ReadmeTaste.swift")
    }

    // MARK: running a line

    /// The command to run for a README line, or nil for one that is not run here:
    /// `swift test` (it is this very run). `swift run [-c release] X` runs the built
    /// X; a full `ipc bench` is run as `--quick --only pipe` (BenchCommandTests
    /// measures the rest).
    static func runnable(_ command: String) -> String? {
        var words = command.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.starts(with: ["swift", "test"]) { return nil }
        if words.starts(with: ["swift", "run"]) {
            words.removeFirst(2)
            if words.starts(with: ["-c"]) { words.removeFirst(2) }
        }
        if words.starts(with: ["ipc", "bench"]), !words.contains("--only") { words += ["--quick", "--only", "pipe"] }
        return words.joined(separator: " ")
    }

    /// `ipc mq create|send`, `ipc rm KIND ID|NAME…`, `ipc shm … --sysv`,
    /// `ipc ls [--json]`: how to call, not a call.
    static func isSynopsis(_ span: String) -> Bool {
        span.contains("|") || span.contains("…") || span.contains("[")
            || span.split(separator: " ").contains { $0.count > 0 && $0.allSatisfy { $0.isUppercase || $0 == "_" } }
    }

    static func shell(_ command: String, directory: String) -> Spawn {
        var spawn = Spawn("/bin/sh", arguments: ["-c", command])
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        spawn.environment = .inheritUpdating(["PATH": buildDirectory + ":" + path])
        spawn.workingDirectory = .init(directory)
        return spawn
    }

    /// Starts `command` and returns once it has printed its first line (a server
    /// saying it is ready), so the next line can use it.
    static func startInBackground(_ command: String, directory: String, line: ReadmeExamples.Line) throws -> pid_t {
        let out = try Interprocess.Pipe()
        var spawn = shell("exec " + command, directory: directory)
        try spawn.inherit(out.writer.descriptor, as: 1)
        let child = try spawn.start()
        try out.writer.close()
        var entry = pollfd(fd: out.reader.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, 30_000)
        #expect(ready == 1, "README.md:\(line.lineNumber): \(line.command) never said it was ready")
        return child.pid
    }
}

/// The unique names and keys the README's examples run with, so that they meet no
/// other object on the host: `/orders` → `/orders-readme-PID-N`, `0x1234` → a key of
/// the tests' own range, `/tmp/echo` → `/tmp/echo-readme-PID-N`.
struct UniqueNames {
    private(set) var names: [String: String] = [:]
    private(set) var keys: [String: IPCKey] = [:]
    private let suffix = "readme-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    mutating func substituting(in command: String) -> String {
        var words = command.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        for index in words.indices {
            let word = words[index]
            if index > 0, words[index - 1] == "--key", word.hasPrefix("0x") {
                if keys[word] == nil { keys[word] = TestObjects.systemVKey() }
                words[index] = keys[word]!.description
            } else if Self.isPosixName(word) || word.hasPrefix("/tmp/") {
                if names[word] == nil { names[word] = word + "-" + suffix }
                words[index] = names[word]!
            }
        }
        return words.joined(separator: " ")
    }

    /// `/orders`: one slash, then letters and digits.
    private static func isPosixName(_ word: String) -> Bool {
        word.count > 1 && word.first == "/" && word.dropFirst().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// The IPC objects the examples left under the names used: POSIX objects and
    /// System V objects. (Files under /tmp belong to the servers the examples start
    /// in the background, which are stopped after this check.)
    func leftBehind() -> [String] {
        var left: [String] = []
        for name in names.values where !name.hasPrefix("/tmp/") {
            if (try? PosixMessageQueue.open(name, access: .readOnly)) != nil { left.append("mq \(name)") }
            if devShmContains(String(name.dropFirst())) { left.append("shm \(name)") }
            if devShmContains(TestObjects.semaphoreFile(name)) { left.append("sem \(name)") }
        }
        for key in keys.values {
            for kind in [SystemVKind.messageQueue, .semaphoreSet, .sharedMemory] where (try? kind.identifier(for: key)) != nil {
                left.append("\(kind) \(key)")
            }
        }
        return left
    }

    /// Removes everything the examples may have left (after a failure), quietly.
    func removeEverything() {
        for name in names.values {
            if name.hasPrefix("/tmp/") { TestObjects.remove(.file(name)); continue }
            TestObjects.remove(.queue(name))
            TestObjects.remove(.sharedMemory(name))
            TestObjects.remove(.semaphore(name))
        }
        for key in keys.values {
            for kind in [SystemVKind.messageQueue, .semaphoreSet, .sharedMemory] {
                if let id = try? kind.identifier(for: key) { TestObjects.remove(.systemV(kind, id: id)) }
            }
        }
    }
}
