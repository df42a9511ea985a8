import Interprocess

// The send/receive of every byte-stream transport (pipe, fifo, socketpair,
// unix-stream): the harness's write_full/read_full over the library's stream types.

/// Writes every byte of `message`.
@inline(__always)
func sendAll<Writer: ByteStreamWriter & ~Copyable>(_ writer: borrowing Writer, _ message: UnsafeRawBufferPointer) throws(BenchError) {
    do { try writer.write(all: message) } catch { throw .transport(error) }
}

/// Fills `message` completely; end of stream first is `.peerClosed`.
@inline(__always)
func receiveAll<Reader: ByteStreamReader & ~Copyable>(_ reader: borrowing Reader, into message: UnsafeMutableRawBufferPointer) throws(BenchError) {
    var done = 0
    while done < message.count {
        let n: Int
        do { n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: message[done...])) } catch { throw .transport(error) }
        if n == 0 { throw .peerClosed }
        done += n
    }
}
