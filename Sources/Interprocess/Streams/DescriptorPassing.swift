import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Passing open descriptors between processes over a Unix socket (SCM_RIGHTS,
// SPEC S7). The receiver gets new descriptors for the same open files; the
// sender keeps its own (sending borrows, it never takes ownership).

extension UnixSocket {
    /// Sends `bytes` with copies of `descriptors` (the ones it holds, at most 253,
    /// `SCM_MAX_FD`) in one message. The caller keeps them: sending borrows.
    ///
    /// On a stream socket at least one byte must go with them (`EINVAL`
    /// otherwise, before any system call): the kernel attaches descriptors to
    /// data. On seqpacket and datagram sockets an empty message can carry them.
    /// `to` addresses an unconnected datagram socket.
    ///
    /// The corresponding C function is `sendmsg` with an `SCM_RIGHTS` control
    /// message and `MSG_NOSIGNAL`.
    public func send(_ bytes: UnsafeRawBufferPointer, descriptors: borrowing OwnedDescriptors, to address: UnixSocketAddress? = nil) throws(IPCError) {
        try sendWithDescriptors(bytes, descriptors.heldNumbers, to: address, until: nil)
    }

    public func send(_ bytes: [UInt8], descriptors: borrowing OwnedDescriptors, to address: UnixSocketAddress? = nil) throws(IPCError) {
        let numbers = descriptors.heldNumbers
        try withRawBytes(bytes) { (raw) throws(IPCError) in try sendWithDescriptors(raw, numbers, to: address, until: nil) }
    }

    /// Sends `bytes` with a copy of one descriptor the caller keeps owning.
    public func send(_ bytes: UnsafeRawBufferPointer, descriptor: borrowing OwnedDescriptor, to address: UnixSocketAddress? = nil) throws(IPCError) {
        try sendWithDescriptors(bytes, [descriptor.rawValue], to: address, until: nil)
    }

    /// Sends `bytes` with a copy of one descriptor the caller keeps owning.
    public func send(_ bytes: [UInt8], descriptor: borrowing OwnedDescriptor, to address: UnixSocketAddress? = nil) throws(IPCError) {
        let numbers = [descriptor.rawValue]
        try withRawBytes(bytes) { (raw) throws(IPCError) in try sendWithDescriptors(raw, numbers, to: address, until: nil) }
    }

    /// `send(_:descriptors:to:)`, waiting at most until `deadline` for room.
    public func send(_ bytes: UnsafeRawBufferPointer, descriptors: borrowing OwnedDescriptors, to address: UnixSocketAddress? = nil,
                     until deadline: Deadline) throws(IPCError) {
        try sendWithDescriptors(bytes, descriptors.heldNumbers, to: address, until: deadline)
    }

    /// `send(_:descriptor:to:)`, waiting at most until `deadline` for room.
    public func send(_ bytes: UnsafeRawBufferPointer, descriptor: borrowing OwnedDescriptor, to address: UnixSocketAddress? = nil,
                     until deadline: Deadline) throws(IPCError) {
        try sendWithDescriptors(bytes, [descriptor.rawValue], to: address, until: deadline)
    }

    /// `send(_:descriptors:to:until:)` with a deadline `timeout` from now.
    public func send(_ bytes: UnsafeRawBufferPointer, descriptors: borrowing OwnedDescriptors, to address: UnixSocketAddress? = nil,
                     timeout: Duration) throws(IPCError) {
        try sendWithDescriptors(bytes, descriptors.heldNumbers, to: address, until: .after(timeout))
    }

    /// `send(_:descriptor:to:until:)` with a deadline `timeout` from now.
    public func send(_ bytes: UnsafeRawBufferPointer, descriptor: borrowing OwnedDescriptor, to address: UnixSocketAddress? = nil,
                     timeout: Duration) throws(IPCError) {
        try sendWithDescriptors(bytes, [descriptor.rawValue], to: address, until: .after(timeout))
    }

    /// `send(_:descriptors:to:)`, suspending (not blocking a thread) while there is
    /// no room.
    public func sendAsync(_ bytes: [UInt8], descriptors: borrowing OwnedDescriptors, to address: UnixSocketAddress? = nil) async throws {
        try await sendWithDescriptors(bytes, descriptors.heldNumbers, to: address)
    }

    /// `send(_:descriptor:to:)`, suspending (not blocking a thread) while there is
    /// no room.
    public func sendAsync(_ bytes: [UInt8], descriptor: borrowing OwnedDescriptor, to address: UnixSocketAddress? = nil) async throws {
        try await sendWithDescriptors(bytes, [descriptor.rawValue], to: address)
    }

    /// Every send with descriptors: checked, then sent whole. The callers borrow the
    /// descriptors for the whole call, so the numbers stay theirs until it returns.
    private func sendWithDescriptors(_ bytes: UnsafeRawBufferPointer, _ numbers: [CInt], to address: UnixSocketAddress?,
                                     until deadline: Deadline?) throws(IPCError) {
        try validate(bytes, descriptors: numbers)
        try sendAll(bytes, descriptors: numbers, to: address, until: deadline)
    }

    private func sendWithDescriptors(_ bytes: [UInt8], _ numbers: [CInt], to address: UnixSocketAddress?) async throws {
        try withRawBytes(bytes) { (raw) throws(IPCError) in try validate(raw, descriptors: numbers) }
        try await withBytes(bytes) { raw in try await sendAll(raw, descriptors: numbers, to: address) }
    }

    /// Receives one message into `buffer` with up to `descriptorLimit`
    /// descriptors (at most 253), and the sender's address.
    ///
    /// Received descriptors are close-on-exec (`MSG_CMSG_CLOEXEC`) and owned by
    /// the result: those not taken are closed with it. A message carrying more
    /// descriptors than `descriptorLimit` (or more than the descriptor table has
    /// room for) throws `ENOBUFS` after closing every one that arrived; a message
    /// larger than `buffer` on a seqpacket or datagram socket throws `EMSGSIZE`.
    /// On a stream socket the count is what was there (descriptors arrive with
    /// the first byte sent with them).
    ///
    /// The corresponding C function is `recvmsg`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int) throws(IPCError) -> ReceivedMessage {
        try receiveMessage(into: buffer, descriptorLimit: descriptorLimit, .block)!
    }

    /// `receive(into:descriptorLimit:)`, waiting at most until `deadline`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int, until deadline: Deadline) throws(IPCError) -> ReceivedMessage {
        try receiveMessage(into: buffer, descriptorLimit: descriptorLimit, .until(deadline))!
    }

    /// `receive(…until:)` with a deadline `timeout` from now.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int, timeout: Duration) throws(IPCError) -> ReceivedMessage {
        try receive(into: buffer, descriptorLimit: descriptorLimit, until: .after(timeout))
    }

    /// `receive(into:descriptorLimit:)` if a message is there now; nil otherwise.
    public func tryReceive(into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int) throws(IPCError) -> ReceivedMessage? {
        try receiveMessage(into: buffer, descriptorLimit: descriptorLimit, .never)
    }

    /// `receive(into:descriptorLimit:)`, suspending (not blocking a thread) until a
    /// message arrives; `CancellationError` when the task is cancelled.
    public func receiveAsync(into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int) async throws -> ReceivedMessage {
        try await receiveMessage(into: buffer, descriptorLimit: descriptorLimit)
    }
}

// MARK: receiving into an array

extension UnixSocket {
    /// `receive(into:descriptorLimit:)` into the storage of `bytes` (its count is
    /// the room; the message's length is the result's `count`).
    public func receive(into bytes: inout [UInt8], descriptorLimit: Int) throws(IPCError) -> ReceivedMessage {
        try withMutableBytes(&bytes) { (raw) throws(IPCError) in try receive(into: raw, descriptorLimit: descriptorLimit) }
    }

    /// `receive(into:descriptorLimit:)` into `bytes`, waiting at most until `deadline`.
    public func receive(into bytes: inout [UInt8], descriptorLimit: Int, until deadline: Deadline) throws(IPCError) -> ReceivedMessage {
        try withMutableBytes(&bytes) { (raw) throws(IPCError) in try receive(into: raw, descriptorLimit: descriptorLimit, until: deadline) }
    }

    /// `receive(…until:)` with a deadline `timeout` from now.
    public func receive(into bytes: inout [UInt8], descriptorLimit: Int, timeout: Duration) throws(IPCError) -> ReceivedMessage {
        try receive(into: &bytes, descriptorLimit: descriptorLimit, until: .after(timeout))
    }

    /// `receive(into:descriptorLimit:)` into `bytes`, suspending until a message
    /// arrives; `CancellationError` when the task is cancelled.
    public func receiveAsync(into bytes: inout [UInt8], descriptorLimit: Int) async throws -> ReceivedMessage {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        defer { scratch.deallocate() }
        let message = try await receiveAsync(into: UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(bytes.count)), descriptorLimit: descriptorLimit)
        bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: scratch.prefix(message.count))) }
        return message
    }
}

/// `Array.withUnsafeMutableBytes` for a body that returns a `~Copyable` value.
func withMutableBytes<R: ~Copyable>(_ bytes: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(IPCError) -> R) throws(IPCError) -> R {
    var result: R? = nil
    var failure: IPCError? = nil
    bytes.withUnsafeMutableBytes { raw in
        do throws(IPCError) { result = try body(raw) } catch { failure = error }
    }
    if let failure { throw failure }
    return result.take()!
}
