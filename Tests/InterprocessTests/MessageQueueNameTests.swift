import Interprocess
import Testing

/// Queue names are validated before any system call (SPEC M1).
@Suite("POSIX message queue names")
struct MessageQueueNameTests {
    @Test("bad names are EINVAL with a reason, before the kernel sees them", arguments: [
        ("orders", "a queue name starts with a slash, e.g. \"/orders\""),
        ("", "a queue name starts with a slash, e.g. \"/orders\""),
        ("/", "a queue name has at least one character after the slash"),
        ("/a/b", "a queue name has no slash after the first character"),  // Linux itself says EACCES
        ("/orders/", "a queue name has no slash after the first character"),
        ("//orders", "a queue name has no slash after the first character"),
        ("/.", "\".\" and \"..\" are not queue names"),
        ("/..", "\".\" and \"..\" are not queue names"),
        ("/a\u{0}b", "a queue name cannot contain a NUL byte"),
    ])
    func invalidNames(name: String, reason: String) throws {
        for attempt: () throws -> Void in [
            { try PosixIPCName(name).validate(for: .messageQueue) },
            { _ = try PosixMessageQueue.create(name, maxMessages: 1, messageSize: 1) },
            { _ = try PosixMessageQueue.open(name) },
            { _ = try PosixMessageQueue.openOrCreate(name) },
            { try PosixMessageQueue.unlink(name) },
        ] {
            let error = #expect(throws: IPCError.self) { try attempt() }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail == reason)
        }
    }

    @Test("up to NAME_MAX (255) bytes after the slash; one more is ENAMETOOLONG")
    func lengthLimit() throws {
        let longest = "/" + String(repeating: "q", count: 247) + String(UInt32.random(in: 10_000_000...99_999_999))
        #expect(longest.utf8.count == 256)
        let queue = try PosixMessageQueue.create(longest, maxMessages: 1, messageSize: 1)
        try queue.close()
        try PosixMessageQueue.unlink(longest)

        let tooLong = longest + "q"
        let error = #expect(throws: IPCError.self) { _ = try PosixMessageQueue.create(tooLong, maxMessages: 1, messageSize: 1) }
        #expect(error?.errno == .fileNameTooLong)
        #expect(error?.detail == "256 bytes after the slash; the limit is 255")
        let unlinkError = #expect(throws: IPCError.self) { try PosixMessageQueue.unlink(tooLong) }
        #expect(unlinkError?.errno == .fileNameTooLong)
        #expect(unlinkError?.operation == "mq_unlink")
    }

    @Test("a valid name keeps its text")
    func validName() throws {
        let name = PosixIPCName("/orders-2024.v1")
        try name.validate(for: .messageQueue)
        #expect(name.string == "/orders-2024.v1")
        #expect(name.description == "/orders-2024.v1")
        #expect(name.bytes == Array("/orders-2024.v1".utf8))
    }

    @Test("a name is its exact bytes: a queue named with invalid UTF-8 is made, opened and removed under those bytes")
    func nonUTF8Name() throws {
        let name = PosixIPCName(bytes: Array("/q-".utf8) + [0xff, 0xfe] + Array(String(UInt32.random(in: 0...UInt32.max)).utf8))
        #expect(name.string == nil)
        #expect(name.description.hasPrefix("/q-\\xff\\xfe"))
        let queue = try PosixMessageQueue.create(name, maxMessages: 1, messageSize: 1)
        defer { TestObjects.remove(.queue(name)) }
        #expect(queue.name == name)
        try queue.close()
        // The kernel keeps the queue under exactly these bytes: the lossy decoding is another name.
        let lossy = String(decoding: name.bytes, as: UTF8.self)
        #expect(throws: IPCError.self) { _ = try PosixMessageQueue.open(lossy) }
        try PosixMessageQueue.open(name).close()
        try PosixMessageQueue.unlink(name)
        let error = #expect(throws: IPCError.self) { try PosixMessageQueue.unlink(name) }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.object == "\"" + name.description + "\"")
    }
}
