#if canImport(Glibc)
import Glibc
#endif

/// A command line run by `/bin/sh -c` — what `system`, `popen` and `pclose` do,
/// built on `Spawn` and `Pipe` (SPEC S8).
///
/// ```swift
/// let status = try ShellCommand("make -s test").run()        // system
///
/// let ls = try ShellCommand("ls /tmp").openOutput()           // popen(…, "r")
/// let listing = try ls.output.readToEnd()
/// let status = try ls.close()                                 // pclose
/// ```
///
/// The shell inherits descriptors 0, 1 and 2 (less the one replaced by the pipe)
/// and nothing else, and starts with default signal dispositions: when the reader
/// of its output goes away, its next write gets `SIGPIPE` as in a terminal.
/// Unlike `system`, this process's `SIGINT`/`SIGQUIT` handling and `SIGCHLD` are
/// left alone; the shell is reaped through its pidfd.
public struct ShellCommand: Sendable {
    /// The command line given to the shell.
    public var command: String
    /// How the shell is started (`/bin/sh -c command`); set its environment,
    /// working directory or process group here. Descriptors 0–2 are set by the
    /// `open…` methods.
    public var spawn: Spawn

    public init(_ command: String) {
        self.command = command
        self.spawn = Spawn("/bin/sh", arguments: ["-c", command])
        spawn.argument0 = "sh"
    }

    // MARK: system

    /// Runs the command and waits for the shell; returns its status (`.exited(127)`
    /// when the shell could not find the command).
    ///
    /// The corresponding C function is `system`.
    public func run() throws(IPCError) -> ChildStatus {
        var child = try spawn.start()
        return try child.wait()
    }

    /// Runs the command, waiting at most until `deadline`; then the shell is killed
    /// (`SIGKILL`), reaped, and `ETIMEDOUT` thrown. Processes the shell started
    /// itself are not killed.
    public func run(until deadline: Deadline) throws(IPCError) -> ChildStatus {
        var child = try spawn.start()
        do { return try child.wait(until: deadline) } catch where error.isTimeout {}
        try? child.signal(SIGKILL)
        _ = try child.wait()
        throw IPCError(.timedOut, operation: "sh -c", object: "pid \(child.pid)",
                       detail: "\(command) did not finish in time and was killed")
    }

    /// `run(…until:)` with a deadline `timeout` from now.
    public func run(timeout: Duration) throws(IPCError) -> ChildStatus { try run(until: .after(timeout)) }

    /// Runs the command without blocking a thread. When the task is cancelled the
    /// shell is killed (`SIGKILL`) and `CancellationError` thrown; the shell is
    /// reaped in the background.
    public func runAsync() async throws -> ChildStatus {
        var child = try spawn.start()
        do {
            return try await child.waitAsync()
        } catch {
            try? child.signal(SIGKILL)
            throw error
        }
    }

    // MARK: popen

    /// Starts the command with its standard output readable through
    /// `output`; its standard input is this process's.
    ///
    /// The corresponding C call is `popen(command, "r")`.
    public func openOutput() throws(IPCError) -> ShellCommandOutput {
        let pipe = try Pipe()
        var spawn = self.spawn
        try spawn.inherit(pipe.writer.descriptor, as: 1)
        let child = try spawn.start()
        try pipe.writer.close()
        return ShellCommandOutput(output: pipe.reader, child: child)
    }

    /// Starts the command with its standard input writable through `input`; its
    /// standard output is this process's.
    ///
    /// The corresponding C call is `popen(command, "w")`.
    public func openInput() throws(IPCError) -> ShellCommandInput {
        let pipe = try Pipe()
        var spawn = self.spawn
        try spawn.inherit(pipe.reader.descriptor, as: 0)
        let child = try spawn.start()
        try pipe.reader.close()
        return ShellCommandInput(input: pipe.writer, child: child)
    }
}

/// A running shell command whose standard output this process reads (`popen` with
/// `"r"`). Reads go to `output`; `close()` is `pclose`.
public struct ShellCommandOutput: ~Copyable, ByteStreamReader {
    /// The read end of the pipe that is the shell's standard output.
    public let output: PipeReader
    private var child: ChildProcess

    init(output: consuming PipeReader, child: consuming ChildProcess) {
        self.output = output
        self.child = child
    }

    /// The shell's process id.
    public var pid: pid_t { child.pid }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        try output.read(into: buffer)
    }

    /// Closes the pipe, waits for the shell and returns its status. A command still
    /// writing gets `SIGPIPE` (or `EPIPE`) when the pipe closes, so this cannot hang
    /// on a command that writes forever.
    ///
    /// The corresponding C function is `pclose`.
    public consuming func close() throws(IPCError) -> ChildStatus {
        var child = self.child
        var closeError: IPCError?
        do { try self.output.close() } catch { closeError = error }
        let status = try child.wait()
        if let closeError { throw closeError }
        return status
    }

    /// Closes the pipe and waits for the shell without blocking a thread;
    /// cancelling the task ends the wait (the shell is reaped in the background).
    public consuming func closeAsync() async throws -> ChildStatus {
        var child = self.child
        try self.output.close()
        return try await child.waitAsync()
    }
}

/// A running shell command whose standard input this process writes (`popen` with
/// `"w"`). Writes go to `input`; `close()` is `pclose`.
public struct ShellCommandInput: ~Copyable, ByteStreamWriter {
    /// The write end of the pipe that is the shell's standard input.
    public let input: PipeWriter
    private var child: ChildProcess

    init(input: consuming PipeWriter, child: consuming ChildProcess) {
        self.input = input
        self.child = child
    }

    public var pid: pid_t { child.pid }

    /// Writes every byte; throws `EPIPE` when the command no longer reads.
    public func write(all buffer: UnsafeRawBufferPointer) throws(IPCError) {
        try input.write(all: buffer)
    }

    public func write(all bytes: [UInt8]) throws(IPCError) { try input.write(all: bytes) }

    /// Closes the pipe (the command reads end of file), waits for the shell and
    /// returns its status. The corresponding C function is `pclose`.
    public consuming func close() throws(IPCError) -> ChildStatus {
        var child = self.child
        var closeError: IPCError?
        do { try self.input.close() } catch { closeError = error }
        let status = try child.wait()
        if let closeError { throw closeError }
        return status
    }

    /// Closes the pipe and waits for the shell without blocking a thread.
    public consuming func closeAsync() async throws -> ChildStatus {
        var child = self.child
        try self.input.close()
        return try await child.waitAsync()
    }
}
