import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Message I/O for seqpacket and datagram sockets (SPEC S7): one send is one
// message, one receive returns one whole message or throws — a message larger
// than the buffer is `EMSGSIZE`, never silently cut short. On a stream socket the
// same calls send all bytes and receive what is there.

extension UnixSocket {
    // MARK: send

    /// Sends `message` as one message (all of it, on a stream). Throws `EMSGSIZE`
    /// when a datagram is larger than the socket can carry, `EPIPE` or
    /// `ECONNRESET` when the peer went away.
    ///
    /// The corresponding C function is `send` with `MSG_NOSIGNAL`.
    public func send(_ message: UnsafeRawBufferPointer) throws(IPCError) {
        try sendAll(message, descriptors: [], to: nil, until: nil)
    }

    public func send(_ message: [UInt8]) throws(IPCError) {
        try withRawBytes(message) { (raw) throws(IPCError) in try send(raw) }
    }

    /// Sends `message`, waiting at most until `deadline` for room (`ETIMEDOUT`).
    public func send(_ message: UnsafeRawBufferPointer, until deadline: Deadline) throws(IPCError) {
        try sendAll(message, descriptors: [], to: nil, until: deadline)
    }

    /// `send(…until:)` with a deadline `timeout` from now.
    public func send(_ message: UnsafeRawBufferPointer, timeout: Duration) throws(IPCError) {
        try send(message, until: .after(timeout))
    }

    /// Sends `message`, suspending (not blocking a thread) while there is no room.
    public func sendAsync(_ message: [UInt8]) async throws {
        try await withBytes(message) { raw in try await sendAll(raw, descriptors: [], to: nil) }
    }

    /// Sends `message` now or not at all: false when the socket has no room
    /// (seqpacket and datagram sockets; a stream may send part, see `tryWrite`).
    public func trySend(_ message: UnsafeRawBufferPointer) throws(IPCError) -> Bool {
        try sendOnce(message, descriptors: [], to: nil, dontWait: true) != nil
    }

    /// Sends one datagram to `address` (an unconnected datagram socket). Throws
    /// `ENOENT` when nothing is bound there, `ECONNREFUSED` when the socket there
    /// is closed, `EACCES` without write permission on the socket file.
    ///
    /// The corresponding C function is `sendto` (as `sendmsg`) with `MSG_NOSIGNAL`.
    public func send(_ message: UnsafeRawBufferPointer, to address: UnixSocketAddress) throws(IPCError) {
        try sendAll(message, descriptors: [], to: address, until: nil)
    }

    public func send(_ message: [UInt8], to address: UnixSocketAddress) throws(IPCError) {
        try withRawBytes(message) { (raw) throws(IPCError) in try send(raw, to: address) }
    }

    /// Sends one datagram to `address`, waiting at most until `deadline`.
    public func send(_ message: UnsafeRawBufferPointer, to address: UnixSocketAddress, until deadline: Deadline) throws(IPCError) {
        try sendAll(message, descriptors: [], to: address, until: deadline)
    }

    /// `send(…until:)` with a deadline `timeout` from now.
    public func send(_ message: UnsafeRawBufferPointer, to address: UnixSocketAddress, timeout: Duration) throws(IPCError) {
        try send(message, to: address, until: .after(timeout))
    }

    /// Sends one datagram to `address`, suspending while the receiver is full.
    public func sendAsync(_ message: [UInt8], to address: UnixSocketAddress) async throws {
        try await withBytes(message) { raw in try await sendAll(raw, descriptors: [], to: address) }
    }

    // MARK: receive

    /// Receives one message into `buffer` and returns its length. Throws
    /// `EMSGSIZE` when the message was larger than `buffer` (the kernel discards
    /// it; the detail says how large it was). 0 is end of file on a seqpacket
    /// socket whose peer closed, or an empty message.
    ///
    /// The corresponding C function is `recvmsg` (with `MSG_TRUNC`).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        try receiveMessage(into: buffer, descriptorLimit: 0, wantSender: false, .block)!.count
    }

    /// Receives one message of at most `maxCount` bytes (`EMSGSIZE` if larger).
    public func receive(upTo maxCount: Int) throws(IPCError) -> [UInt8] {
        try receiving(upTo: maxCount) { (raw) throws(IPCError) in try receive(into: raw) }
    }

    /// Receives a message that is there now; nil when none is.
    public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
        try receiveMessage(into: buffer, descriptorLimit: 0, wantSender: false, .never)?.count
    }

    /// Receives one message, waiting at most until `deadline` (`ETIMEDOUT`).
    public func receive(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(IPCError) -> Int {
        try receiveMessage(into: buffer, descriptorLimit: 0, wantSender: false, .until(deadline))!.count
    }

    /// `receive(…until:)` with a deadline `timeout` from now.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int {
        try receive(into: buffer, until: .after(timeout))
    }

    /// Receives one message, suspending (not blocking a thread) until it arrives;
    /// `CancellationError` when the task is cancelled.
    public func receiveAsync(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        try await receiveMessage(into: buffer, descriptorLimit: 0, wantSender: false).count
    }

    /// Receives one message of at most `maxCount` bytes, suspending until it arrives.
    public func receiveAsync(upTo maxCount: Int) async throws -> [UInt8] {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(maxCount, 1), alignment: 16)
        defer { scratch.deallocate() }
        let count = try await receiveAsync(into: UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(maxCount)))
        return Array(scratch.prefix(count))
    }

    // MARK: receive with the sender's address

    /// Receives one datagram and the address it came from: the sender's bound path
    /// or abstract name, or `.unnamed` when the sender never bound (then it cannot
    /// be answered).
    ///
    /// The corresponding C function is `recvfrom` (as `recvmsg`).
    public func receiveFrom(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> (count: Int, sender: UnixSocketAddress) {
        let message = try receiveMessage(into: buffer, descriptorLimit: 0, .block)!
        return (message.count, message.sender)
    }

    /// `receiveFrom(into:)`, waiting at most until `deadline` (`ETIMEDOUT`).
    public func receiveFrom(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(IPCError) -> (count: Int, sender: UnixSocketAddress) {
        let message = try receiveMessage(into: buffer, descriptorLimit: 0, .until(deadline))!
        return (message.count, message.sender)
    }

    /// `receiveFrom(…until:)` with a deadline `timeout` from now.
    public func receiveFrom(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> (count: Int, sender: UnixSocketAddress) {
        try receiveFrom(into: buffer, until: .after(timeout))
    }

    /// Receives one datagram of at most `maxCount` bytes and its sender.
    public func receiveFrom(upTo maxCount: Int) throws(IPCError) -> (bytes: [UInt8], sender: UnixSocketAddress) {
        var sender = UnixSocketAddress.unnamed
        let bytes = try receiving(upTo: maxCount) { (raw) throws(IPCError) in
            let result = try receiveFrom(into: raw)
            sender = result.sender
            return result.count
        }
        return (bytes, sender)
    }

    /// Receives one datagram and its sender, suspending until it arrives.
    public func receiveFromAsync(upTo maxCount: Int) async throws -> (bytes: [UInt8], sender: UnixSocketAddress) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(maxCount, 1), alignment: 16)
        defer { scratch.deallocate() }
        let message = try await receiveMessage(into: UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(maxCount)), descriptorLimit: 0)
        return (Array(scratch.prefix(message.count)), message.sender)
    }

    // MARK: helpers

    /// Fills a new array of `maxCount` bytes with `body` and keeps what it reports.
    func receiving(upTo maxCount: Int, _ body: (UnsafeMutableRawBufferPointer) throws(IPCError) -> Int) throws(IPCError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(maxCount, 0))
        let count = try withRawBuffer(&bytes, body)
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Runs an async `body` over a copy of `bytes` that stays put while it is
    /// suspended.
    func withBytes(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        try await body(UnsafeRawBufferPointer(rebasing: copy.prefix(bytes.count)))
    }
}

/// `Array.withUnsafeBytes` with a typed error.
func withRawBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(IPCError) -> R) throws(IPCError) -> R {
    let result: Result<R, IPCError> = bytes.withUnsafeBytes { raw in
        do throws(IPCError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
