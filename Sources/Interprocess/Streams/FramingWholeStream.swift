/// One record per connection: the record is everything the peer writes before it
/// closes its end (SPEC S6). Reading enforces a maximum, so a peer cannot make the
/// reader buffer without bound.
public enum WholeStreamRecord {
    /// Reads until end of stream and returns the bytes; throws `EMSGSIZE` as soon as
    /// more than `maxLength` bytes arrive.
    public static func read<Source: ByteStreamReader & ~Copyable>(
        from source: borrowing Source, maxLength: Int = 1 << 20
    ) throws(IPCError) -> [UInt8] {
        guard maxLength >= 0 else {
            throw IPCError(.invalidArgument, operation: "read record", detail: "maxLength is negative")
        }
        var record: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(65536, maxLength + 1))
        while true {
            let room = maxLength + 1 - record.count
            let n = try withRawBuffer(&chunk) { (raw) throws(IPCError) in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw.prefix(room)))
            }
            if n == 0 { return record }
            record += chunk[..<n]
            if record.count > maxLength {
                throw IPCError(.messageTooLong, operation: "read record",
                               detail: "the stream holds more than the limit of \(maxLength) bytes")
            }
        }
    }

    /// Writes the record. The end of the record is the end of the stream: close
    /// the writing end afterwards (every copy of it, for a pipe).
    public static func write<Sink: ByteStreamWriter & ~Copyable>(_ record: [UInt8], to sink: borrowing Sink) throws(IPCError) {
        var bytes = record
        try withRawBuffer(&bytes) { (raw) throws(IPCError) in try sink.write(all: UnsafeRawBufferPointer(raw)) }
    }
}
