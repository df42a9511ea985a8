import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The server's side of one client (SPEC R1, R3, R4, R6), on its own library
/// thread: the hello (credentials, policy, limits), then the session — wait for a
/// call record in the call channel, run the procedure, write the result in the
/// reply channel — until the client goes, misbehaves, or the door is revoked or
/// closed.
///
/// Nothing the client sends is trusted: a record with a bad header, descriptors
/// that do not come, or a client that does not read its results (`replyTimeout`)
/// ends this client's session only. The channels validate every index and record
/// header (Channels/README.md).
final class DoorConnection: @unchecked Sendable {
    private let server: DoorServer
    private let socket: UnixSocket
    /// The ends, in allocated memory rather than stored properties (no exclusivity
    /// check per call; see the bench's ChannelTransport).
    private var calls: UnsafeMutablePointer<SharedMemoryChannel.Receiver>?
    private var results: UnsafeMutablePointer<SharedMemoryChannel.Sender>?
    private var caller = DoorCredentials(pid: 0, realUserID: 0, effectiveUserID: 0, realGroupID: 0, effectiveGroupID: 0)
    /// A session wakes this often to see a revoke or close.
    static let slice = Duration.milliseconds(100)
    /// What every call needs, read once (no retain of the server's options or
    /// procedure per call).
    private let procedure: DoorServer.Procedure
    private let maximumResultSize: Int
    private let cookie: UInt64

    init(server: DoorServer, socket: consuming UnixSocket) {
        self.server = server
        self.socket = socket
        procedure = server.procedure
        maximumResultSize = server.options.maximumMessageSize
        cookie = server.cookie
    }

    deinit {
        if let calls { calls.deinitialize(count: 1); calls.deallocate() }
        if let results { results.deinitialize(count: 1); results.deallocate() }
    }

    private var object: String { IPCError.describe(path: server.name) }

    func run() {
        guard let purpose = try? hello() else { return }
        if purpose == .helloInfo {
            _ = try? DoorWire.send(DoorWire.control(.info, payload: server.info.encoded), on: socket, until: .after(server.options.replyTimeout))
            return
        }
        do throws(IPCError) {
            try server.admitClient()
        } catch {
            refuse(error)
            return
        }
        defer { server.clientLeft() }
        do throws(IPCError) {
            try openSession()
        } catch {
            refuse(error)
            return
        }
        session()
    }

    /// Reads the hello and its kernel credentials (`SO_PASSCRED` is set on every
    /// server socket); checks the version and the access policy.
    private func hello() throws(IPCError) -> DoorWire.Kind {
        let fd = socket.descriptor.rawValue
        var buffer = [UInt8](repeating: 0, count: DoorWire.controlCapacity)
        var pid = pid_t(0), uid = uid_t(0), gid = gid_t(0)
        let deadline = Deadline.after(server.options.replyTimeout)
        var count = -1
        while count < 0 {
            // In slices, so a door that closes does not wait for a silent client.
            let slice = Deadline.after(Self.slice)
            if try !waitForReadiness(fd, .readable, until: min(slice, deadline)) {
                if deadline.hasPassed || server.isRevoked { throw IPCError(.timedOut, operation: "door hello", object: object) }
                continue
            }
            count = buffer.withUnsafeMutableBytes { raw in
                retryingInterrupts { system_receiveWithCredentials(fd, raw.baseAddress, raw.count, CInt(MSG_DONTWAIT), &pid, &uid, &gid) }
            }
            if count < 0 && lastErrno != EAGAIN { throw IPCError.last("recvmsg", fd: fd) }
        }
        guard count <= buffer.count, let hello = DoorWire.Control(buffer[..<count]),
              hello.kind == .helloCall || hello.kind == .helloInfo else {
            throw refused(IPCError(.protocolError, operation: "door hello", object: object, detail: "not a door client's hello"))
        }
        guard hello.status == DoorWire.version else {
            throw refused(IPCError(.protocolNotSupported, operation: "door hello", object: object,
                                   detail: "the client speaks door protocol \(hello.status); this server speaks \(DoorWire.version)"))
        }
        // From here on the socket carries descriptors, whose room credentials
        // would take.
        if system_passCredentials(fd, false) != 0 { throw IPCError.last("setsockopt(SO_PASSCRED)", fd: fd) }
        if hello.kind == .helloInfo { return .helloInfo }
        do throws(IPCError) {
            caller = try DoorCredentials(kernelPid: pid, uid: uid, gid: gid, object: object)
        } catch {
            throw refused(error)
        }
        if !server.options.access.allows(caller) {
            throw refused(IPCError(.permissionDenied, operation: "door_call", object: object,
                                   detail: "the door's access policy refuses \(caller)"))
        }
        return .helloCall
    }

    private func refused(_ error: IPCError) -> IPCError {
        refuse(error)
        return error
    }

    /// Tells the client why (the errno and text); the connection then ends.
    private func refuse(_ error: IPCError) {
        _ = try? DoorWire.send(DoorWire.control(.welcome, status: UInt32(error.errno.rawValue), payload: Array(error.description.utf8)),
                               on: socket, until: .after(server.options.replyTimeout))
    }

    /// Makes the session's two channels (sealed memfds, this side's ends claimed
    /// first) and sends them with the welcome.
    private func openSession() throws(IPCError) {
        let size = server.options.maximumMessageSize + DoorWire.recordHeaderSize
        let capacity = DoorWire.channelCapacity(maximumMessageSize: server.options.maximumMessageSize)
        let callChannel = try SharedMemoryChannel.anonymous(capacity: capacity, maximumMessageSize: size, label: "ipc-door-calls")
        let resultChannel = try SharedMemoryChannel.anonymous(capacity: capacity, maximumMessageSize: size, label: "ipc-door-results")
        var memory = OwnedDescriptors()
        memory.append(try callChannel.memory.descriptor.duplicate())
        memory.append(try resultChannel.memory.descriptor.duplicate())
        calls = .allocate(capacity: 1)
        calls!.initialize(to: try callChannel.receiver())
        results = .allocate(capacity: 1)
        results!.initialize(to: try resultChannel.sender())
        try DoorWire.send(DoorWire.control(.welcome, payload: server.info.encoded), on: socket, descriptors: memory,
                          until: .after(server.options.replyTimeout))
    }

    /// Serves calls until the client goes (`EPIPE` from its channel), breaks the
    /// protocol, or the door is revoked or closed.
    private func session() {
        guard let calls else { return }
        // One clock read per slice, not per call: calls that come while the slice
        // lasts are served under it.
        var sliceEnd = Deadline.after(Self.slice)
        while true {
            if server.isRevoked {
                _ = try? DoorWire.send(DoorWire.control(.revoked), on: socket, until: .after(.milliseconds(100)))
                return
            }
            // A timeout is the slice's only while no call was taken: one from a
            // result the client does not make room for ends the session.
            var serving = false
            do {
                try calls.pointee.receive(until: sliceEnd) { span in
                    serving = true
                    try span.withUnsafeBytes { (record) throws(IPCError) in try serve(record) }
                }
            } catch let error as IPCError where error.isTimeout && !serving {
                sliceEnd = .after(Self.slice)
                continue
            } catch {
                return  // the client went (EPIPE), broke the protocol, or stopped reading
            }
        }
    }

    /// One call: its header, its descriptors, the procedure, the result.
    private func serve(_ record: UnsafeRawBufferPointer) throws(IPCError) {
        guard let header = DoorWire.RecordHeader(record) else {
            throw IPCError(.badMessage, operation: "door_call", object: object, detail: "a call record with a bad header")
        }
        let descriptors = try receiveDescriptors(header)
        let arguments = UnsafeRawBufferPointer(rebasing: record[DoorWire.recordHeaderSize...])
        if server.isRevoked {
            try send(header.sequence, status: DoorWire.revokedStatus, text: [])
            return
        }
        switch procedure {
        case .blocking(let procedure):
            var call = DoorCall(caller: caller, cookie: cookie, descriptors: descriptors, arguments: arguments,
                                connection: self, sequence: header.sequence, maximumResultSize: maximumResultSize)
            do {
                try procedure(&call)
            } catch {
                if call.replied { throw error as? IPCError ?? IPCError(.ioError, operation: "door_return") }
                try fail(header.sequence, error)
                return
            }
            if !call.replied { try reply(header.sequence, count: 0, descriptors: OwnedDescriptors()) { _ in } }
        case .async(let procedure):
            let request = DoorRequest(arguments: Array(arguments), descriptors: descriptors, caller: caller, cookie: cookie)
            switch DoorAsyncCall.run(procedure, request) {
            case .success(let result):
                guard result.bytes.count <= server.options.maximumMessageSize else {
                    try fail(header.sequence, IPCError(.messageTooLong, operation: "door_return",
                                                       detail: "a \(result.bytes.count)-byte result; the door carries at most \(server.options.maximumMessageSize) bytes"))
                    return
                }
                let bytes = result.bytes
                try reply(header.sequence, count: bytes.count, descriptors: result.descriptors) { buffer in
                    bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
                }
            case .failure(let error):
                try fail(header.sequence, error)
            }
        }
    }

    /// The descriptors that came with a call wait on the socket, sent before its
    /// record; a client that announced some and did not send them loses its session.
    private func receiveDescriptors(_ header: DoorWire.RecordHeader) throws(IPCError) -> OwnedDescriptors {
        guard header.descriptorCount > 0 else { return OwnedDescriptors() }
        var buffer = [UInt8](repeating: 0, count: DoorWire.controlCapacity)
        let message = try socket.receive(into: &buffer, descriptorLimit: Int(header.descriptorCount),
                                         until: .after(server.options.replyTimeout))
        guard let control = DoorWire.Control(buffer[..<message.count]), control.kind == .descriptors,
              control.sequence == header.sequence, message.descriptors.count == Int(header.descriptorCount) else {
            throw IPCError(.protocolError, operation: "door_call", object: object, detail: "the call's descriptors did not come as announced")
        }
        return message.descriptors
    }

    /// Writes a result record (`door_return`): its descriptors first, on the
    /// socket, then the record. A client that does not make room within
    /// `replyTimeout` loses its session.
    func reply(_ sequence: UInt64, count: Int, descriptors: borrowing OwnedDescriptors,
               _ body: (UnsafeMutableRawBufferPointer) -> Void) throws(IPCError) {
        if !descriptors.isEmpty {
            try DoorWire.send(DoorWire.control(.descriptors, sequence: sequence), on: socket, descriptors: descriptors,
                              until: .after(server.options.replyTimeout))
        }
        let header = DoorWire.RecordHeader(sequence: sequence, descriptorCount: descriptors.count)
        server.statistics.callServed()  // before the result: a caller that has it sees it counted
        let write = { (span: inout MutableRawSpan) in
            span.withUnsafeMutableBytes { buffer in
                header.store(to: buffer)
                body(UnsafeMutableRawBufferPointer(rebasing: buffer[DoorWire.recordHeaderSize...]))
            }
        }
        do {
            // The deadline (a clock read) only when the client has not made room.
            if try results!.pointee.trySend(count: DoorWire.recordHeaderSize + count, write) == nil {
                try results!.pointee.send(count: DoorWire.recordHeaderSize + count, until: .after(server.options.replyTimeout), write)
            }
        } catch {
            throw error as? IPCError ?? IPCError(.ioError, operation: "door_return", object: object)
        }
    }

    /// A failed call: the errno (EREMOTEIO for an error that is not an `IPCError`)
    /// and the error's text.
    private func fail(_ sequence: UInt64, _ error: any Error) throws(IPCError) {
        let errno = (error as? IPCError)?.errno.rawValue ?? EREMOTEIO
        server.statistics.callServed()
        try send(sequence, status: UInt32(errno), text: Array(String(describing: error).utf8.prefix(server.options.maximumMessageSize)))
    }

    /// A result record with a status other than 0 and a text.
    private func send(_ sequence: UInt64, status: UInt32, text: [UInt8]) throws(IPCError) {
        let header = DoorWire.RecordHeader(sequence: sequence, status: status)
        do {
            try results!.pointee.send(count: DoorWire.recordHeaderSize + text.count, until: .after(server.options.replyTimeout)) { span in
                span.withUnsafeMutableBytes { buffer in
                    header.store(to: buffer)
                    text.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[DoorWire.recordHeaderSize...]).copyMemory(from: $0) }
                }
            }
        } catch {
            throw error as? IPCError ?? IPCError(.ioError, operation: "door_return", object: object)
        }
    }
}
