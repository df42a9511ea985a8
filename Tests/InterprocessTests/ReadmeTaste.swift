// README.md's "A taste", compiled here with no import but `Interprocess`, as a reader
// would write it (only the module's public API and what it re-exports are in scope).
// `ReadmeExamplesTests` checks that the README shows exactly the lines between the
// markers, so the two cannot drift apart. It is compiled, never run: it waits for a
// client.
import Interprocess

func readmeTaste() throws {
    // README begin
    // A pipe to a child process: the child gets exactly the descriptors you name.
    let pipe = try Pipe()
    var spawn = Spawn("/usr/bin/tr", arguments: ["a-z", "A-Z"])
    try spawn.inherit(pipe.reader.descriptor, as: 0)   // the spawn keeps its own duplicate
    var child = try spawn.start()
    try pipe.writer.write(all: Array("hello\n".utf8))
    try pipe.writer.close()
    print(try child.wait())            // exited with status 0

    // Every call that can wait has four forms; a deadline that passes is ETIMEDOUT.
    let queue = try PosixMessageQueue.create("/demo", maxMessages: 8, messageSize: 64)
    try queue.send(Array("hi".utf8))
    let first = try queue.receive(timeout: .seconds(1))   // blocking, at most a second
    let none = try queue.tryReceive()                     // nil: nothing there now
    // and in async code, suspending the task: try await queue.receiveAsync()
    print(first.bytes, none == nil)

    // A Unix socket server with a 0600 socket file, and a descriptor passed to a client.
    let listener = try UnixListener(path: "/tmp/demo.sock", options: .init(removeOnClose: true))
    let connection = try listener.accept()
    try connection.send(Array("a pipe for you".utf8), descriptor: pipe.reader.descriptor)  // sending borrows

    // Errors say what failed, on what, and why.
    do { _ = try Spawn("/no/such/tool").start() } catch {
        print(error)                   // posix_spawn("/no/such/tool"): no such file or directory (ENOENT)
    }
    // README end
}
