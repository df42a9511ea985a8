import ArgumentParser
import Interprocess

// `ipc shm write` and `ipc shm read` (POSIX objects and System V segments) move
// bytes a chunk at a time (`StandardStreams.chunkSize`): a transfer never holds more
// than a chunk in memory, and maps only the pages of the chunk it is copying.

/// Copies stdin into an object from `offset`, a chunk at a time, and returns the
/// count copied.
///
/// - `room`: how many bytes fit from `offset`. Stdin is read no further than
///   `room + 1` bytes; a byte past the room fails with exit status 1, naming
///   `roomText` and what was written: nothing when the room is less than a chunk
///   (all of stdin was checked first), otherwise the room, filled.
/// - `hint`: appended to that failure, e.g. "use --grow".
/// - `prepare`: called with the end of each chunk before it is stored (to grow
///   the object).
/// - `store`: copies a chunk to its offset in the object.
func copyStandardInput(
    toOffset offset: Int, room: Int, roomText: @autoclosure () -> String, hint: String? = nil,
    prepare: (_ end: Int) throws(IPCError) -> Void = { _ in },
    store: (_ chunk: UnsafeRawBufferPointer, _ at: Int) throws(IPCError) -> Void
) throws -> Int {
    var copied = 0
    func written() -> String {
        copied == 0 ? "nothing was written" : (copied == 1 ? "the first byte was" : "the first \(copied) bytes were") + " written, from offset \(offset)"
    }
    var buffer = [UInt8](repeating: 0, count: min(StandardStreams.chunkSize, room == Int.max ? room : room + 1))
    while true {
        let left = room - copied
        let wanted = left == Int.max ? buffer.count : min(buffer.count, left + 1)
        do {
            let n = try buffer.withUnsafeMutableBytes { (all) in
                try readStandardInput(filling: UnsafeMutableRawBufferPointer(rebasing: all[..<wanted]))
            }
            if n > left {
                if copied > 0 {  // streaming already changed the object: fill it, rather than stop at a chunk boundary
                    try buffer.withUnsafeBytes { (all) in try store(UnsafeRawBufferPointer(rebasing: all[..<left]), offset + copied) }
                    copied += left
                }
                throw fail("stdin has more than \(byteCount(room)); \(roomText()): \(written())" + (hint.map { " (\($0))" } ?? ""), .failed)
            }
            if n > 0 {
                try prepare(offset + copied + n)
                try buffer.withUnsafeBytes { (all) in
                    try store(UnsafeRawBufferPointer(rebasing: all[..<n]), offset + copied)
                }
                copied += n
            }
            if n < wanted { return copied }
        } catch let error as IPCError {
            throw fail("\(error); \(written())", .failed)
        }
    }
}

/// Copies `range` of an object to stdout, a chunk at a time: `load` fills a buffer
/// with the bytes at an offset.
func copyToStandardOutput(
    _ range: Range<Int>, load: (_ into: UnsafeMutableRawBufferPointer, _ from: Int) throws(IPCError) -> Void
) throws {
    var buffer = [UInt8](repeating: 0, count: min(StandardStreams.chunkSize, range.count))
    var position = range.lowerBound
    while position < range.upperBound {
        let n = min(buffer.count, range.upperBound - position)
        try buffer.withUnsafeMutableBytes { (all) in
            let chunk = UnsafeMutableRawBufferPointer(rebasing: all[..<n])
            try load(chunk, position)
            do throws(IPCError) { try writeStandardOutput(UnsafeRawBufferPointer(chunk)) } catch {
                var error = error
                let done = position - range.lowerBound
                if done > 0 { error.detail = "\(done) of the \(byteCount(range.count)) were written" }
                throw error
            }
        }
        position += n
    }
}

/// The range `--offset` and `--length` select in an object of `size` bytes: to the
/// end when `length` is nil. Reading at the very end (`offset == size`) selects 0
/// bytes, as reading at the end of a file does; an offset or a range past the end
/// fails with exit status 1, naming the size.
func selectedRange(offset: Int, length: Int?, size: Int, object: String) throws -> Range<Int> {
    if offset > size { throw fail("--offset \(offset) is past the end of \(object) (\(byteCount(size)))", .failed) }
    let count = length ?? size - offset
    if count > size - offset {
        throw fail("\(byteCount(count)) at offset \(offset) are past the end of \(object) (\(byteCount(size)))", .failed)
    }
    return offset..<(offset + count)
}
