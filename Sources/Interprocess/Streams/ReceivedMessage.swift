/// One message received from a `UnixSocket`: how many bytes landed in the
/// buffer, the descriptors that came with it, and who sent it.
public struct ReceivedMessage: ~Copyable, Sendable {
    /// Bytes received into the buffer. 0 on a stream or seqpacket socket is end
    /// of file (or, on seqpacket and datagram sockets, an empty message).
    public var count: Int
    /// The descriptors that came with the message (closed unless taken).
    public var descriptors: OwnedDescriptors
    /// The sender's address: the bound path or abstract name of a datagram sender,
    /// `.unnamed` when it never bound (and for most connected sockets).
    public var sender: UnixSocketAddress

    init(count: Int, descriptors: consuming OwnedDescriptors, sender: UnixSocketAddress) {
        self.count = count
        self.descriptors = descriptors
        self.sender = sender
    }
}
