/// Reads records separated by a delimiter (a newline by default) from any byte
/// stream: a pipe, a FIFO, a socket, a shell command's output (SPEC S6).
///
/// ```swift
/// var lines = try DelimitedRecordReader(pipe.reader)
/// while let line = try lines.next() { … }
/// ```
///
/// A record longer than `maxRecordLength` fails with `EMSGSIZE` as soon as that
/// many bytes have arrived without a delimiter, so a peer cannot make the reader
/// buffer without bound. End of stream right after a delimiter (or before any
/// byte) is the normal end; end of stream inside a record fails with `EPROTO`.
/// After an error, close the stream: where the next record starts is unknown.
public struct DelimitedRecordReader<Source: ByteStreamReader & ~Copyable>: ~Copyable {
    /// The stream records are read from.
    public let source: Source
    public let delimiter: [UInt8]
    public let maxRecordLength: Int
    private var buffer = FramingBuffer()
    /// How far the buffer has been searched for the delimiter already.
    private var searched = 0

    /// Reads from `source`. Throws `EINVAL` for an empty delimiter or a negative
    /// maximum.
    public init(_ source: consuming Source, delimiter: [UInt8] = [0x0A], maxRecordLength: Int = 65536) throws(IPCError) {
        guard !delimiter.isEmpty, maxRecordLength >= 0 else {
            throw IPCError(.invalidArgument, operation: "DelimitedRecordReader",
                           detail: delimiter.isEmpty ? "the delimiter is empty" : "maxRecordLength is negative")
        }
        self.source = source
        self.delimiter = delimiter
        self.maxRecordLength = maxRecordLength
    }

    /// The next record, without its delimiter; nil at end of stream.
    public mutating func next() throws(IPCError) -> [UInt8]? {
        while true {
            let from = max(0, searched - (delimiter.count - 1))
            if let end = buffer.firstIndex(of: delimiter, from: from) {
                guard end <= maxRecordLength else { throw tooLong() }
                let record = buffer.take(end)
                buffer.skip(delimiter.count)
                searched = 0
                return record
            }
            searched = buffer.count
            // Bytes that can no longer be the start of a delimiter belong to the record.
            if buffer.count - (delimiter.count - 1) > maxRecordLength { throw tooLong() }
            let n = try buffer.fill(from: source, limit: 65536)
            if n == 0 {
                if buffer.count == 0 { return nil }
                throw IPCError(.protocolError, operation: "read record",
                               detail: "the stream ended inside a record: \(buffer.count) bytes after the last delimiter")
            }
        }
    }

    /// Gives the stream back (to close it, for example). Bytes read ahead and not
    /// yet returned as records are dropped.
    public consuming func intoSource() -> Source { source }

    private func tooLong() -> IPCError {
        IPCError(.messageTooLong, operation: "read record",
                 detail: "a record is longer than the limit of \(maxRecordLength) bytes")
    }
}

/// Writes records each followed by a delimiter (SPEC S6).
public struct DelimitedRecordWriter<Sink: ByteStreamWriter & ~Copyable>: ~Copyable {
    public let sink: Sink
    public let delimiter: [UInt8]
    public let maxRecordLength: Int

    public init(_ sink: consuming Sink, delimiter: [UInt8] = [0x0A], maxRecordLength: Int = 65536) throws(IPCError) {
        guard !delimiter.isEmpty, maxRecordLength >= 0 else {
            throw IPCError(.invalidArgument, operation: "DelimitedRecordWriter",
                           detail: delimiter.isEmpty ? "the delimiter is empty" : "maxRecordLength is negative")
        }
        self.sink = sink
        self.delimiter = delimiter
        self.maxRecordLength = maxRecordLength
    }

    /// Writes `record` and the delimiter in one write (atomic on a pipe when it
    /// fits in PIPE_BUF). Throws `EINVAL` when the record contains the delimiter
    /// and `EMSGSIZE` when it is longer than `maxRecordLength`, writing nothing.
    public func write(_ record: [UInt8]) throws(IPCError) {
        guard record.count <= maxRecordLength else {
            throw IPCError(.messageTooLong, operation: "write record",
                           detail: "\(record.count) bytes is more than the limit of \(maxRecordLength)")
        }
        var framed = record + delimiter
        if framed.count > delimiter.count,
           FramingBuffer.contains(framed[..<record.count], delimiter) {
            throw IPCError(.invalidArgument, operation: "write record", detail: "the record contains the delimiter")
        }
        try withRawBuffer(&framed) { (raw) throws(IPCError) in try sink.write(all: UnsafeRawBufferPointer(raw)) }
    }

    public consuming func intoSink() -> Sink { sink }
}

extension FramingBuffer {
    static func contains(_ bytes: ArraySlice<UInt8>, _ pattern: [UInt8]) -> Bool {
        guard bytes.count >= pattern.count else { return false }
        var i = bytes.startIndex
        while i <= bytes.endIndex - pattern.count {
            if bytes[i..<(i + pattern.count)].elementsEqual(pattern) { return true }
            i += 1
        }
        return false
    }
}
