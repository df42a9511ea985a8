import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// One `sendmsg` and one `recvmsg`: the two calls every send and receive of a
// `UnixSocket` ends in, with descriptors (SCM_RIGHTS), addresses and the checks
// that make truncation an error instead of silent data loss.

/// How long a socket call may wait.
enum SocketWait {
    /// Block in the kernel.
    case block
    /// Do not wait at all (`MSG_DONTWAIT`): nil when the call would block.
    case never
    /// Wait on readiness until the deadline, then `ETIMEDOUT`.
    case until(Deadline)
}

/// The most descriptors one message can carry on Linux (`SCM_MAX_FD`).
let maxDescriptorsPerMessage = 253

extension UnixSocket {
    /// One send: the count sent (a stream may take less than all), or nil when
    /// `dontWait` and the call would block.
    func sendOnce(
        _ bytes: UnsafeRawBufferPointer, descriptors: [CInt], to address: UnixSocketAddress?, dontWait: Bool
    ) throws(IPCError) -> Int? {
        let fd = descriptor.rawValue
        var flags = CInt(MSG_NOSIGNAL)
        if dontWait { flags |= CInt(MSG_DONTWAIT) }
        let sent: Int
        if descriptors.isEmpty && address == nil {
            sent = retryingInterrupts { system_send(fd, bytes.baseAddress, bytes.count, flags) }
        } else {
            sent = Self.sendMessage(fd, bytes, descriptors, address, flags)
        }
        if sent >= 0 { return sent }
        if dontWait && lastErrno == EAGAIN { return nil }
        let operation = address == nil ? (descriptors.isEmpty ? "send" : "sendmsg") : "sendto"
        throw IPCError.last(operation, object: address?.errorDescription ?? IPCError.describe(fd: fd))
    }

    private static func sendMessage(
        _ fd: CInt, _ bytes: UnsafeRawBufferPointer, _ descriptors: [CInt], _ address: UnixSocketAddress?, _ flags: CInt
    ) -> Int {
        var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        let controlSize = descriptors.isEmpty ? 0 : cipc_rights_space(descriptors.count)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: max(controlSize, 1), alignment: 16)
        defer { control.deallocate() }
        if controlSize > 0 { descriptors.withUnsafeBufferPointer { cipc_rights_pack(control.baseAddress, $0.baseAddress, $0.count) } }
        return withUnsafeMutablePointer(to: &iov) { iovPointer in
            var message = msghdr()
            message.msg_iov = iovPointer
            message.msg_iovlen = 1
            message.msg_control = controlSize > 0 ? control.baseAddress : nil
            message.msg_controllen = controlSize
            guard let address else { return retryingInterrupts { system_sendmsg(fd, &message, flags) } }
            return address.withSockaddr { name, length in
                message.msg_name = UnsafeMutableRawPointer(mutating: name)
                message.msg_namelen = length
                return retryingInterrupts { system_sendmsg(fd, &message, flags) }
            }
        }
    }

    /// One receive: a message (or, for a stream, what is there), with up to
    /// `descriptorLimit` descriptors and the sender's address; nil when
    /// `dontWait` and nothing is there.
    ///
    /// On seqpacket and datagram sockets a message larger than `buffer` throws
    /// `EMSGSIZE` and a message with more descriptors than `descriptorLimit`
    /// throws `ENOBUFS`; either way the message is gone (the kernel discards the
    /// rest) and every descriptor that arrived with it is closed.
    func receiveOnce(
        into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int, wantSender: Bool, dontWait: Bool
    ) throws(IPCError) -> ReceivedMessage? {
        let fd = descriptor.rawValue
        var flags = CInt(MSG_CMSG_CLOEXEC)
        if kind != .stream { flags |= CInt(MSG_TRUNC) }  // return the real length
        if dontWait { flags |= CInt(MSG_DONTWAIT) }
        let limit = descriptorLimit
        let controlSize = limit == 0 ? 0 : cipc_rights_space(limit)
        let control: UnsafeMutableRawPointer? = controlSize > 0 ? .allocate(byteCount: controlSize, alignment: 16) : nil
        defer { control?.deallocate() }

        var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        var address = sockaddr_un()
        var message = msghdr()
        let received = withUnsafeMutablePointer(to: &iov) { iovPointer in
            withUnsafeMutablePointer(to: &address) { addressPointer in
                message.msg_iov = iovPointer
                message.msg_iovlen = 1
                if wantSender {
                    message.msg_name = UnsafeMutableRawPointer(addressPointer)
                    message.msg_namelen = socklen_t(MemoryLayout<sockaddr_un>.size)
                }
                message.msg_control = control
                message.msg_controllen = controlSize
                return retryingInterrupts { system_recvmsg(fd, &message, flags) }
            }
        }
        if received < 0 {
            if dontWait && lastErrno == EAGAIN { return nil }
            throw IPCError.last("recvmsg", fd: fd)
        }

        var descriptors = OwnedDescriptors()
        if controlSize > 0 && message.msg_controllen > 0 {
            var numbers = [CInt](repeating: -1, count: limit)
            let found = numbers.withUnsafeMutableBufferPointer { out in
                withUnsafePointer(to: &message) { cipc_rights_unpack($0, out.baseAddress, limit) }
            }
            // Anything beyond `limit` was closed by the unpacking.
            descriptors = OwnedDescriptors(adoptingRaw: Array(numbers.prefix(min(found, limit))))
        }
        let sender = wantSender ? UnixSocketAddress(storage: address, length: message.msg_namelen) : .unnamed

        if kind != .stream && message.msg_flags & CInt(MSG_TRUNC) != 0 {
            throw IPCError(.messageTooLong, operation: "recvmsg", object: IPCError.describe(fd: fd),
                           detail: "a message of \(received) bytes did not fit in a buffer of \(buffer.count); the kernel discarded it"
                               + (descriptors.isEmpty ? "" : " and the \(descriptors.count) descriptors it carried were closed"))
        }
        if message.msg_flags & CInt(MSG_CTRUNC) != 0 && (kind != .stream || limit > 0) {
            throw IPCError(.noBufferSpace, operation: "recvmsg", object: IPCError.describe(fd: fd),
                           detail: limit == 0
                               ? "the message carried descriptors and this receive took none (use receive(into:descriptorLimit:)); the kernel closed them"
                               : "the message carried more descriptors than the \(limit) there was room for (or the descriptor table is full); all were closed")
        }
        return ReceivedMessage(count: min(received, buffer.count), descriptors: descriptors, sender: sender)
    }

    /// `receiveOnce` in the chosen waiting form; nil only for `.never`.
    func receiveMessage(
        into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int, wantSender: Bool = true, _ wait: SocketWait
    ) throws(IPCError) -> ReceivedMessage? {
        try validate(descriptorLimit: descriptorLimit)
        switch wait {
        case .block:
            return try receiveOnce(into: buffer, descriptorLimit: descriptorLimit, wantSender: wantSender, dontWait: false)
        case .never:
            return try receiveOnce(into: buffer, descriptorLimit: descriptorLimit, wantSender: wantSender, dontWait: true)
        case .until(let deadline):
            return try descriptor.retry(.readable, until: deadline, operation: "recvmsg") { () throws(IPCError) in
                try receiveOnce(into: buffer, descriptorLimit: descriptorLimit, wantSender: wantSender, dontWait: true)
            }
        }
    }

    /// `receiveOnce`, suspending until a message arrives.
    func receiveMessage(into buffer: UnsafeMutableRawBufferPointer, descriptorLimit: Int, wantSender: Bool = true) async throws -> ReceivedMessage {
        try validate(descriptorLimit: descriptorLimit)
        return try await descriptor.retry(.readable) { () throws(IPCError) in
            try receiveOnce(into: buffer, descriptorLimit: descriptorLimit, wantSender: wantSender, dontWait: true)
        }
    }

    /// Sends all of `bytes` (a stream may need several calls; the descriptors go
    /// with the first), blocking, or waiting on readiness until `deadline`.
    func sendAll(
        _ bytes: UnsafeRawBufferPointer, descriptors: [CInt], to address: UnixSocketAddress?, until deadline: Deadline?
    ) throws(IPCError) {
        var done = 0
        var pending = descriptors
        repeat {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            if let deadline {
                done += try descriptor.retry(.writable, until: deadline, operation: "send") { () throws(IPCError) in
                    try sendOnce(rest, descriptors: pending, to: address, dontWait: true)
                }
            } else {
                // Never nil: a blocking send either sends or throws.
                done += try sendOnce(rest, descriptors: pending, to: address, dontWait: false) ?? 0
            }
            pending = []
        } while done < bytes.count
    }

    /// `sendAll`, suspending while there is no room.
    func sendAll(_ bytes: UnsafeRawBufferPointer, descriptors: [CInt], to address: UnixSocketAddress?) async throws {
        var done = 0
        var pending = descriptors
        repeat {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            done += try await descriptor.retry(.writable) { () throws(IPCError) in
                try sendOnce(rest, descriptors: pending, to: address, dontWait: true)
            }
            pending = []
        } while done < bytes.count
    }

    func validate(descriptorLimit: Int) throws(IPCError) {
        if descriptorLimit < 0 || descriptorLimit > maxDescriptorsPerMessage {
            throw IPCError(.invalidArgument, operation: "recvmsg", object: IPCError.describe(fd: descriptor.rawValue),
                           detail: "descriptor limit \(descriptorLimit) is not in 0...\(maxDescriptorsPerMessage) (SCM_MAX_FD)")
        }
    }

    /// Checks what a send with descriptors may carry, before any system call.
    func validate(_ bytes: UnsafeRawBufferPointer, descriptors: [CInt]) throws(IPCError) {
        if descriptors.count > maxDescriptorsPerMessage {
            throw IPCError(.invalidArgument, operation: "sendmsg", object: IPCError.describe(fd: descriptor.rawValue),
                           detail: "\(descriptors.count) descriptors; one message carries at most \(maxDescriptorsPerMessage) (SCM_MAX_FD)")
        }
        if let bad = descriptors.first(where: { $0 < 0 }) {
            throw IPCError(.badFileDescriptor, operation: "sendmsg", object: IPCError.describe(fd: descriptor.rawValue),
                           detail: "descriptor \(bad) cannot be sent")
        }
        if kind == .stream && bytes.isEmpty && !descriptors.isEmpty {
            throw IPCError(.invalidArgument, operation: "sendmsg", object: IPCError.describe(fd: descriptor.rawValue),
                           detail: "a stream socket carries descriptors only with at least one byte of data")
        }
    }
}
