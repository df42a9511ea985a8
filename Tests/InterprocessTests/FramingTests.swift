import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The read end of a pipe whose write end a peer process has as its stdout;
/// the peer has exited when this returns.
private func peerOutput(_ command: String, _ arguments: String...) throws -> PipeReader {
    let pipe = try Pipe()
    var spawn = TestPeer.spawn(command)
    spawn.arguments += arguments
    try spawn.inherit(pipe.writer.descriptor, as: 1)
    var child = try spawn.start()
    try pipe.writer.close()
    #expect(try child.wait() == .exited(0))
    return pipe.reader
}

/// Hands out its bytes one per read, so every delimiter and header is split
/// across reads.
private struct OneByteAtATime: ~Copyable, ByteStreamReader {
    let bytes: [UInt8]
    let position = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        position.initialize(to: 0)
    }

    deinit { position.deallocate() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        guard position.pointee < bytes.count, buffer.count > 0 else { return 0 }
        buffer[0] = bytes[position.pointee]
        position.pointee += 1
        return 1
    }
}

private func text(_ record: [UInt8]?) -> String? { record.map { String(decoding: $0, as: UTF8.self) } }

@Suite("Message framing on byte streams (S6)")
struct FramingTests {
    // MARK: delimiter

    @Test("delimited records written by a peer process, then nil at the end")
    func delimitedFromPeer() throws {
        var records = try DelimitedRecordReader(try peerOutput("write-frames", "delimited", "a", "", "bb", "ccc"))
        #expect(text(try records.next()) == "a")
        #expect(text(try records.next()) == "")
        #expect(text(try records.next()) == "bb")
        #expect(text(try records.next()) == "ccc")
        #expect(try records.next() == nil)
        #expect(try records.next() == nil)
    }

    @Test("a peer's record longer than the limit fails with EMSGSIZE")
    func delimitedTooLong() throws {
        let line = hexString([UInt8](repeating: 0x61, count: 100) + [0x0A])
        var records = try DelimitedRecordReader(try peerOutput("write-hex", line), maxRecordLength: 10)
        let error = #expect(throws: IPCError.self) { _ = try records.next() }
        #expect(error?.errno == .messageTooLong)

        // Exactly the limit is fine.
        var exact = try DelimitedRecordReader(try peerOutput("write-hex", line), maxRecordLength: 100)
        #expect(try exact.next()?.count == 100)
    }

    @Test("a peer that ends inside a record is an EPROTO error")
    func delimitedTruncated() throws {
        var records = try DelimitedRecordReader(try peerOutput("write-hex", "6f6b0a616263"))  // "ok\nabc"
        #expect(text(try records.next()) == "ok")
        let error = #expect(throws: IPCError.self) { _ = try records.next() }
        #expect(error?.errno == .protocolError)
    }

    @Test("a multi-byte delimiter split across reads")
    func multiByteDelimiter() throws {
        var records = try DelimitedRecordReader(OneByteAtATime(Array("a\r\nb\rc\r\n\r\n".utf8)), delimiter: Array("\r\n".utf8))
        #expect(text(try records.next()) == "a")
        #expect(text(try records.next()) == "b\rc")
        #expect(text(try records.next()) == "")
        #expect(try records.next() == nil)

        let pipe = try Pipe()
        let sink = pipe.writer
        let writer = try DelimitedRecordWriter(sink, delimiter: Array("\r\n".utf8), maxRecordLength: 4)
        let inside = #expect(throws: IPCError.self) { try writer.write(Array("x\r\ny".utf8)) }
        #expect(inside?.errno == .invalidArgument)
        let long = #expect(throws: IPCError.self) { try writer.write(Array("12345".utf8)) }
        #expect(long?.errno == .messageTooLong)
        let empty = #expect(throws: IPCError.self) {
            let other = try Pipe()
            _ = try DelimitedRecordReader(other.reader, delimiter: [])
        }
        #expect(empty?.errno == .invalidArgument)
    }

    // MARK: length prefix

    @Test("length-prefixed records written by a peer process")
    func lengthPrefixedFromPeer() throws {
        var records = try LengthPrefixedRecordReader(try peerOutput("write-frames", "length", "hello", "", "wor\nld"))
        #expect(text(try records.next()) == "hello")
        #expect(text(try records.next()) == "")
        #expect(text(try records.next()) == "wor\nld")
        #expect(try records.next() == nil)
    }

    @Test("a garbage length from a peer is EMSGSIZE before any allocation")
    func garbageLength() throws {
        // 4 GiB announced; the body never comes.
        var records = try LengthPrefixedRecordReader(try peerOutput("write-hex", "ffffffff41"))
        let error = #expect(throws: IPCError.self) { _ = try records.next() }
        #expect(error?.errno == .messageTooLong)
        #expect(error?.detail?.contains("4294967295") == true)

        var small = try LengthPrefixedRecordReader(try peerOutput("write-hex", "00000011" + String(repeating: "41", count: 17)),
                                                   maxRecordLength: 16)
        #expect((#expect(throws: IPCError.self) { _ = try small.next() })?.errno == .messageTooLong)
    }

    @Test("a peer that ends inside a header or a record is an EPROTO error")
    func lengthPrefixedTruncated() throws {
        var header = try LengthPrefixedRecordReader(try peerOutput("write-hex", "0000"))
        #expect((#expect(throws: IPCError.self) { _ = try header.next() })?.errno == .protocolError)

        var body = try LengthPrefixedRecordReader(try peerOutput("write-hex", "0000001041"))
        #expect((#expect(throws: IPCError.self) { _ = try body.next() })?.errno == .protocolError)
    }

    @Test("length-prefixed records split across reads, and the writer's limit")
    func lengthPrefixedSplit() throws {
        var records = try LengthPrefixedRecordReader(OneByteAtATime([0, 0, 0, 2, 0x68, 0x69, 0, 0, 0, 0]))
        #expect(text(try records.next()) == "hi")
        #expect(text(try records.next()) == "")
        #expect(try records.next() == nil)

        let pipe = try Pipe()
        let writer = try LengthPrefixedRecordWriter(pipe.writer, maxRecordLength: 3)
        #expect((#expect(throws: IPCError.self) { try writer.write([1, 2, 3, 4]) })?.errno == .messageTooLong)
    }

    // MARK: one record per connection

    @Test("one record per stream: everything until the peer closes, with a maximum")
    func wholeStream() throws {
        let reader = try peerOutput("write-frames", "whole", "abc", "def")
        #expect(text(try WholeStreamRecord.read(from: reader)) == "abcdef")

        let big = try peerOutput("write-hex", String(repeating: "41", count: 1000))
        let error = #expect(throws: IPCError.self) { _ = try WholeStreamRecord.read(from: big, maxLength: 999) }
        #expect(error?.errno == .messageTooLong)

        let exact = try peerOutput("write-hex", String(repeating: "41", count: 1000))
        #expect(try WholeStreamRecord.read(from: exact, maxLength: 1000).count == 1000)
    }

    @Test("framing works on any byte stream: a shell command's output")
    func overShellOutput() throws {
        var lines = try DelimitedRecordReader(try ShellCommand("printf 'one\\ntwo\\n'").openOutput())
        #expect(text(try lines.next()) == "one")
        #expect(text(try lines.next()) == "two")
        #expect(try lines.next() == nil)
        #expect(try lines.intoSource().close() == .exited(0))
    }
}

private func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
