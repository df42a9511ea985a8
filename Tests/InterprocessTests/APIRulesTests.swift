import Interprocess
import Testing

// The API rules of the README ("The API rules"), checked across kinds: a deadline
// that passes is always the error ETIMEDOUT, in the `until:` and the `timeout:`
// form alike; would-block is an answer of the `try` forms only; and the blocking and
// the async form of a call are both callable from async code.
@Suite("API rules: one timeout convention, both forms reachable from async code")
struct APIRulesTests {
    @Test("every time-bounded form reports a passed deadline as ETIMEDOUT, with Deadline and Duration alike")
    func timeoutsAreErrors() throws {
        let semaphore = try UnnamedSemaphore(value: 0)
        #expect(try timesOut { try semaphore.wait(until: .after(.milliseconds(5))) })
        #expect(try timesOut { try semaphore.wait(timeout: .milliseconds(5)) })
        #expect(try semaphore.tryWait() == false, "would block is an answer of the try form")

        let name = TestObjects.posixName("ipct-rules")
        defer { TestObjects.remove(.queue(name)) }
        let queue = try PosixMessageQueue.create(name, maxMessages: 1, messageSize: 8)
        #expect(try timesOut { _ = try queue.receive(timeout: .milliseconds(5)) })
        #expect(try queue.tryReceive() == nil)
        try queue.send([1])
        #expect(try timesOut { try queue.send([2], timeout: .milliseconds(5)) })

        let pipe = try Pipe()
        var buffer = [UInt8](repeating: 0, count: 4)
        #expect(try timesOut { _ = try buffer.withUnsafeMutableBytes { try pipe.reader.read(into: $0, timeout: .milliseconds(5)) } })
        #expect(try timesOut { try pipe.reader.descriptor.wait(for: .readable, timeout: .milliseconds(5)) })
        #expect(try pipe.reader.descriptor.tryWait(for: .readable) == false)

        let sockets = try UnixSocketPair(.datagram)
        #expect(try timesOut { _ = try buffer.withUnsafeMutableBytes { try sockets.first.receive(into: $0, timeout: .milliseconds(5)) } })

        let set = try SystemVSemaphoreSet.create(key: .private, count: 1)
        defer { try? set.remove() }
        #expect(try timesOut { try set.perform(.take(from: 0), timeout: .milliseconds(5)) })
        #expect(try set.tryPerform(.take(from: 0)) == false)

        var child = try Spawn("/bin/sleep", arguments: ["60"]).start()
        #expect(try timesOut { _ = try child.wait(timeout: .milliseconds(5)) })
        try child.signal(SIGKILL)
        #expect(try child.wait() == .signalled(SIGKILL, coreDumped: false))
    }

    @Test("inside an async function the blocking form and the async form of a call are both reachable")
    func bothFormsFromAsyncCode() async throws {
        let semaphore = try UnnamedSemaphore(value: 2)
        try semaphore.wait()                               // the blocking form, from async code
        try await semaphore.waitAsync()                    // the async form
        #expect(try await timesOut { try await semaphore.waitAsync(timeout: .milliseconds(5)) })
        #expect(try timesOut { try semaphore.wait(timeout: .milliseconds(5)) })
        let pipe = try Pipe()
        try pipe.writer.write(all: [1, 2])
        #expect(try pipe.reader.read(upTo: 1) == [1])       // blocking
        #expect(try await pipe.reader.readAsync(upTo: 1) == [2])  // async
    }
}
