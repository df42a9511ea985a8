/// Reads records that each start with their length as a 4-byte big-endian
/// unsigned integer (SPEC S6).
///
/// The announced length is checked against `maxRecordLength` before anything is
/// allocated: a peer that sends garbage gets `EMSGSIZE`, never a huge allocation.
/// End of stream before a header is the normal end (nil); end of stream inside a
/// header or a record fails with `EPROTO`. After an error, close the stream.
public struct LengthPrefixedRecordReader<Source: ByteStreamReader & ~Copyable>: ~Copyable {
    public let source: Source
    public let maxRecordLength: Int
    private var buffer = FramingBuffer()

    /// The size of the length header.
    public static var headerSize: Int { 4 }

    /// Reads from `source`; throws `EINVAL` when `maxRecordLength` is negative or
    /// more than a 4-byte length can announce.
    public init(_ source: consuming Source, maxRecordLength: Int = 1 << 20) throws(IPCError) {
        guard maxRecordLength >= 0, UInt64(maxRecordLength) <= UInt64(UInt32.max) else {
            throw IPCError(.invalidArgument, operation: "LengthPrefixedRecordReader",
                           detail: "maxRecordLength must be between 0 and \(UInt32.max)")
        }
        self.source = source
        self.maxRecordLength = maxRecordLength
    }

    /// The next record; nil at end of stream.
    public mutating func next() throws(IPCError) -> [UInt8]? {
        while buffer.count < 4 {
            if try buffer.fill(from: source, limit: 65536) == 0 {
                if buffer.count == 0 { return nil }
                throw IPCError(.protocolError, operation: "read record",
                               detail: "the stream ended inside a length header (\(buffer.count) of 4 bytes)")
            }
        }
        let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
        guard length <= maxRecordLength else {
            throw IPCError(.messageTooLong, operation: "read record",
                           detail: "the peer announced \(length) bytes; the limit is \(maxRecordLength)")
        }
        buffer.skip(4)
        while buffer.count < length {
            // Read no further than this record's end plus one chunk.
            if try buffer.fill(from: source, limit: min(65536, max(4096, length - buffer.count))) == 0 {
                throw IPCError(.protocolError, operation: "read record",
                               detail: "the stream ended inside a record (\(buffer.count) of \(length) bytes)")
            }
        }
        return buffer.take(length)
    }

    public consuming func intoSource() -> Source { source }
}

/// Writes records each preceded by its length, 4 bytes big-endian (SPEC S6).
public struct LengthPrefixedRecordWriter<Sink: ByteStreamWriter & ~Copyable>: ~Copyable {
    public let sink: Sink
    public let maxRecordLength: Int

    public init(_ sink: consuming Sink, maxRecordLength: Int = 1 << 20) throws(IPCError) {
        guard maxRecordLength >= 0, UInt64(maxRecordLength) <= UInt64(UInt32.max) else {
            throw IPCError(.invalidArgument, operation: "LengthPrefixedRecordWriter",
                           detail: "maxRecordLength must be between 0 and \(UInt32.max)")
        }
        self.sink = sink
        self.maxRecordLength = maxRecordLength
    }

    /// Writes the header and `record` in one write (atomic on a pipe when it fits
    /// in PIPE_BUF). Throws `EMSGSIZE`, writing nothing, when the record is longer
    /// than `maxRecordLength`.
    public func write(_ record: [UInt8]) throws(IPCError) {
        guard record.count <= maxRecordLength else {
            throw IPCError(.messageTooLong, operation: "write record",
                           detail: "\(record.count) bytes is more than the limit of \(maxRecordLength)")
        }
        let n = UInt32(record.count)
        var framed = [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + record
        try withRawBuffer(&framed) { (raw) throws(IPCError) in try sink.write(all: UnsafeRawBufferPointer(raw)) }
    }

    public consuming func intoSink() -> Sink { sink }
}
