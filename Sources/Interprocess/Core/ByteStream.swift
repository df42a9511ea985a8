/// Something bytes can be read from: a pipe's read end, a FIFO, a stream socket,
/// any descriptor. Framing (SPEC S6) works over any conforming type.
public protocol ByteStreamReader: ~Copyable {
    /// Reads up to `buffer.count` bytes; 0 means end of stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int
}

/// Something bytes can be written to.
public protocol ByteStreamWriter: ~Copyable {
    /// Writes every byte of `buffer`.
    func write(all buffer: UnsafeRawBufferPointer) throws(IPCError)
}

extension OwnedDescriptor: ByteStreamReader, ByteStreamWriter {}
