/// The bytes a framing reader has read from its stream but not yet handed out
/// (SPEC S6). Reads go into the spare room at the end; records are taken from the
/// front; the consumed prefix is dropped when it is more than half of the storage.
struct FramingBuffer {
    private var storage: [UInt8] = []
    private var start = 0

    /// Bytes read and not yet taken.
    var count: Int { storage.count - start }

    /// Reads once from `source`, at most `limit` bytes; returns the count, 0 at end
    /// of stream.
    mutating func fill<Source: ByteStreamReader & ~Copyable>(from source: borrowing Source, limit: Int) throws(IPCError) -> Int {
        if start > 0 && start >= storage.count / 2 {
            storage.removeSubrange(0..<start)
            start = 0
        }
        let old = storage.count
        storage.append(contentsOf: repeatElement(0, count: limit))
        let n: Int
        do {
            n = try withRawBuffer(&storage) { (raw) throws(IPCError) in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[old...]))
            }
        } catch {
            storage.removeSubrange(old...)
            throw error
        }
        storage.removeSubrange((old + n)...)
        return n
    }

    /// The byte at `offset` from the front.
    subscript(offset: Int) -> UInt8 { storage[start + offset] }

    /// The offset from the front of the first `pattern` at or after `from`.
    func firstIndex(of pattern: [UInt8], from: Int) -> Int? {
        guard count >= pattern.count else { return nil }
        let first = pattern[0]
        var i = start + from
        let last = storage.count - pattern.count
        while i <= last {
            if storage[i] == first && storage[i..<(i + pattern.count)].elementsEqual(pattern) { return i - start }
            i += 1
        }
        return nil
    }

    /// Removes and returns the first `length` bytes.
    mutating func take(_ length: Int) -> [UInt8] {
        let bytes = Array(storage[start..<(start + length)])
        start += length
        return bytes
    }

    mutating func skip(_ length: Int) { start += length }
}
