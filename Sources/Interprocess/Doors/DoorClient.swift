import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A client of a door (SPEC R2, R5): a session with its server — a seqpacket
/// connection for the hello and descriptors, and two shared-memory channels for
/// calls and results. Calls on one client go one at a time (it is `~Copyable`, and
/// calling is `mutating`); open one client per thread that calls concurrently.
///
/// ```swift
/// var client = try DoorClient(path: "/run/myservice.door")
/// var result = try client.call(Array("ping".utf8), descriptors: files)   // door_call
/// let reply = result.bytes, file = result.descriptors.takeNext()
/// ```
///
/// Errors, each distinct:
/// - the server is gone (exited or killed, also mid-call): `EPIPE`, naming its pid;
/// - the door was revoked: `EBADF`;
/// - the deadline passed: `ETIMEDOUT` (a result that comes later is skipped);
/// - the procedure threw: its errno (an `IPCError`'s, else `EREMOTEIO`) with
///   `operation` "door procedure" and the error's text as `detail`;
/// - called in a forked child of the process that opened the session: `EPERM`;
/// - opening: `EACCES` (the path's permissions, or the door's access policy),
///   `ECONNREFUSED` (no server at the path), `EAGAIN` (the door serves its
///   maximum of clients).
public struct DoorClient: ~Copyable {
    @usableFromInline let socket: UnixSocket
    @usableFromInline var calls: SharedMemoryChannel.Sender
    @usableFromInline var results: SharedMemoryChannel.Receiver
    @usableFromInline var sequence: UInt64 = 0
    /// The door's information when this session opened (see `currentInfo()`).
    public let info: DoorInfo
    @usableFromInline let object: String
    /// The fork generation of the process that opened the session.
    @usableFromInline let generation = DoorForkGeneration.current

    /// Opens the door attached at `path` (`open` of a door file): connects, sends
    /// the hello, and maps the session's channels.
    public init(path: FilePath, timeout: Duration = .seconds(5)) throws(IPCError) {
        let deadline = Deadline.after(timeout)
        try self.init(socket: DoorClient.connect(path, until: deadline), object: IPCError.describe(path: path), until: deadline)
    }

    /// Opens the door behind a descriptor this process owns: one a server handed
    /// out (`Door.handOut()`), inherited or received over a Unix socket.
    public init(adopting descriptor: consuming OwnedDescriptor, timeout: Duration = .seconds(5)) throws(IPCError) {
        let object = IPCError.describe(fd: descriptor.rawValue)
        let socket = try UnixSocket(adopting: descriptor)
        guard socket.kind == .seqPacket else {
            throw IPCError(.protocolNotSupported, operation: "door open", object: object, detail: "a door's descriptor is a seqpacket socket; this is a \(socket.kind) socket")
        }
        try self.init(socket: socket, object: object, until: .after(timeout))
    }

    private init(socket: consuming UnixSocket, object: String, until deadline: Deadline) throws(IPCError) {
        var welcome = try DoorClient.exchange(socket, .helloCall, until: deadline, object: object)
        guard welcome.control.kind == .welcome, let info = DoorInfo(decoding: welcome.control.payload),
              welcome.descriptors.count == 2, welcome.descriptors.remaining == 2 else {
            throw IPCError(.protocolError, operation: "door open", object: object, detail: "the server's welcome is not a door's")
        }
        let calls = try SharedMemoryChannel(adopting: welcome.descriptors.take(at: 0)!, timeout: deadline.remaining).sender()
        let results = try SharedMemoryChannel(adopting: welcome.descriptors.take(at: 1)!, timeout: deadline.remaining).receiver()
        self.calls = calls
        self.results = results
        self.socket = socket
        self.info = info
        self.object = object
    }

    /// Connects a seqpacket socket to a door's path.
    static func connect(_ path: FilePath, until deadline: Deadline) throws(IPCError) -> UnixSocket {
        try UnixSocket.connect(to: path, kind: .seqPacket, until: deadline)
    }

    struct Answer: ~Copyable {
        var control: DoorWire.Control
        var descriptors: OwnedDescriptors
    }

    /// Sends a hello and reads the answer; a refusal (a welcome with an errno)
    /// throws that errno with the server's reason.
    static func exchange(_ socket: borrowing UnixSocket, _ kind: DoorWire.Kind, until deadline: Deadline, object: String) throws(IPCError) -> Answer {
        try DoorWire.send(DoorWire.control(kind, status: DoorWire.version), on: socket, until: deadline)
        var buffer = [UInt8](repeating: 0, count: DoorWire.controlCapacity)
        let message: ReceivedMessage
        do throws(IPCError) {
            message = try socket.receive(into: &buffer, descriptorLimit: 2, until: deadline)
        } catch {
            throw error.isTimeout ? IPCError(.timedOut, operation: "door open", object: object, detail: "the server did not answer the hello in time") : error
        }
        guard message.count > 0 else {
            throw IPCError(.connectionReset, operation: "door open", object: object, detail: "the server closed the connection without an answer")
        }
        guard let control = DoorWire.Control(buffer[..<message.count]) else {
            throw IPCError(.protocolError, operation: "door open", object: object, detail: "the server's answer is not a door's")
        }
        if control.kind == .welcome, control.status != 0 {
            throw IPCError(Errno(rawValue: CInt(bitPattern: control.status)), operation: "door open", object: object,
                           detail: String(decoding: control.payload, as: UTF8.self))
        }
        return Answer(control: control, descriptors: message.descriptors)
    }

    // MARK: calling

    /// Calls the door in place (`door_call`): `write` fills the `count` argument
    /// bytes in the call channel; `read` gets the result's bytes in the result
    /// channel and its descriptors. Waits at most until `deadline`.
    /// Inlinable, so each caller gets it specialised for its `R` (no generic
    /// metadata looked up per call).
    @inlinable
    public mutating func call<R>(
        count: Int, descriptors: borrowing OwnedDescriptors = OwnedDescriptors(), until deadline: Deadline = .distantFuture,
        writing write: (UnsafeMutableRawBufferPointer) -> Void,
        reading read: (UnsafeRawBufferPointer, inout OwnedDescriptors) throws -> R
    ) throws -> R {
        let sequence = try beginCall(count: count, descriptors: descriptors, until: deadline)
        let header = DoorWire.RecordHeader(sequence: sequence, descriptorCount: descriptors.count)
        do {
            try calls.send(count: DoorWire.recordHeaderSize + count, until: deadline) { span in
                span.withUnsafeMutableBytes { buffer in
                    header.store(to: buffer)
                    write(UnsafeMutableRawBufferPointer(rebasing: buffer[DoorWire.recordHeaderSize...]))
                }
            }
        } catch let error as IPCError {
            throw transportFailure(error)
        }
        while true {
            let outcome: R?
            do {
                outcome = try results.receive(until: deadline) { span in
                    try span.withUnsafeBytes { record -> R? in
                        guard var found = try Self.resultRecord(record, sequence, socket: socket, object: object, until: deadline) else {
                            return nil
                        }
                        return try read(found.payload, &found.descriptors)
                    }
                }
            } catch let error as IPCError {
                throw transportFailure(error)
            }
            if let outcome { return outcome }
        }
    }

    /// Before a call's record: the checks, its sequence number, and its
    /// descriptors sent ahead on the socket.
    @usableFromInline
    mutating func beginCall(count: Int, descriptors: borrowing OwnedDescriptors, until deadline: Deadline) throws(IPCError) -> UInt64 {
        try check(count: count, descriptors: descriptors.count)
        let sequence = nextSequence()
        if !descriptors.isEmpty {
            do throws(IPCError) {
                try DoorWire.send(DoorWire.control(.descriptors, sequence: sequence), on: socket, descriptors: descriptors, until: deadline)
            } catch {
                throw transportFailure(error)
            }
        }
        return sequence
    }

    @usableFromInline
    mutating func nextSequence() -> UInt64 {
        sequence &+= 1
        return sequence
    }

    private mutating func sendCall(count: Int, header: DoorWire.RecordHeader, until deadline: Deadline,
                                   _ write: (UnsafeMutableRawBufferPointer) -> Void) async throws {
        try await calls.sendAsync(count: DoorWire.recordHeaderSize + count, until: deadline) { span in
            span.withUnsafeMutableBytes { buffer in
                header.store(to: buffer)
                write(UnsafeMutableRawBufferPointer(rebasing: buffer[DoorWire.recordHeaderSize...]))
            }
        }
    }

    private mutating func receiveResultAsync(_ sequence: UInt64, until deadline: Deadline) async throws -> DoorResult? {
        // Through a copyable pair: the channel's receive returns copyable values.
        return try await results.receiveAsync(until: deadline) { span in
            try span.withUnsafeBytes { record -> DoorResultParts? in
                guard var found = try Self.resultRecord(record, sequence, socket: socket, object: object, until: deadline) else { return nil }
                return DoorResultParts(found.payload, &found.descriptors)
            }
        }?.result
    }

    /// A result record of the call awaited: its payload and descriptors.
    @usableFromInline
    struct ResultRecord: ~Copyable {
        @usableFromInline let payload: UnsafeRawBufferPointer
        @usableFromInline var descriptors: OwnedDescriptors
    }

    /// One result record: nil when it is a late result of an earlier call (its
    /// descriptors are closed); the procedure's error, or the revoke, thrown.
    @usableFromInline
    static func resultRecord(_ record: UnsafeRawBufferPointer, _ sequence: UInt64, socket: borrowing UnixSocket, object: String,
                             until deadline: Deadline) throws(IPCError) -> ResultRecord? {
        guard let header = DoorWire.RecordHeader(record) else {
            throw IPCError(.badMessage, operation: "door_call", object: object, detail: "a result record with a bad header")
        }
        let descriptors = try receiveDescriptors(header, socket: socket, object: object, until: deadline)
        let payload = UnsafeRawBufferPointer(rebasing: record[DoorWire.recordHeaderSize...])
        guard header.sequence == sequence else { return nil }
        if header.status == DoorWire.revokedStatus {
            throw IPCError(.badFileDescriptor, operation: "door_call", object: object, detail: "the door was revoked")
        }
        if header.status != 0 {
            throw IPCError(Errno(rawValue: CInt(bitPattern: header.status)), operation: "door procedure", object: object,
                           detail: String(decoding: payload, as: UTF8.self))
        }
        return ResultRecord(payload: payload, descriptors: descriptors)
    }

    private static func receiveDescriptors(_ header: DoorWire.RecordHeader, socket: borrowing UnixSocket, object: String,
                                           until deadline: Deadline) throws(IPCError) -> OwnedDescriptors {
        guard header.descriptorCount > 0 else { return OwnedDescriptors() }
        var buffer = [UInt8](repeating: 0, count: DoorWire.controlCapacity)
        let message = try socket.receive(into: &buffer, descriptorLimit: Int(header.descriptorCount), until: deadline)
        guard let control = DoorWire.Control(buffer[..<message.count]), control.kind == .descriptors,
              control.sequence == header.sequence, message.descriptors.count == Int(header.descriptorCount) else {
            throw IPCError(.protocolError, operation: "door_call", object: object, detail: "the result's descriptors did not come as announced")
        }
        return message.descriptors
    }

    @usableFromInline
    func check(count: Int, descriptors: Int) throws(IPCError) {
        guard generation == DoorForkGeneration.current else {
            throw IPCError(.notPermitted, operation: "door_call", object: object,
                           detail: "a door session belongs to the process that opened it; after fork, open the door again")
        }
        guard count >= 0, count <= info.maximumMessageSize else {
            throw IPCError(.messageTooLong, operation: "door_call", object: object,
                           detail: "\(count) argument bytes; the door carries at most \(info.maximumMessageSize)")
        }
        guard descriptors <= DoorWire.maximumDescriptors else {
            throw IPCError(.invalidArgument, operation: "door_call", object: object, detail: "at most \(DoorWire.maximumDescriptors) descriptors go with a call")
        }
    }

    /// What a failed send or receive means for a door: a revoke the server
    /// announced (`EBADF`), its end (`EPIPE` naming it), or the error as it is.
    @usableFromInline
    func transportFailure(_ error: IPCError) -> IPCError {
        if error.errno == .brokenPipe || error.errno == .connectionReset {
            if revokedNotice() {
                return IPCError(.badFileDescriptor, operation: "door_call", object: object, detail: "the door was revoked")
            }
            return IPCError(.brokenPipe, operation: "door_call", object: object, detail: "the door's server (pid \(info.serverPid)) is gone")
        }
        if error.isTimeout { return IPCError(.timedOut, operation: "door_call", object: object, detail: "no result before the deadline") }
        return error
    }

    /// Whether the server's revoke notice waits on the socket.
    private func revokedNotice() -> Bool {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: DoorWire.controlCapacity, alignment: 8)
        defer { buffer.deallocate() }
        while let message = try? socket.tryReceive(into: buffer, descriptorLimit: DoorWire.maximumDescriptors), message.count > 0 {
            if DoorWire.Control(ArraySlice(buffer[..<message.count]))?.kind == .revoked { return true }
        }
        return false
    }

    /// Calls the door with `bytes` and `descriptors` (copies of them travel; this
    /// process keeps its own), waiting at most until `deadline`.
    public mutating func call(_ bytes: [UInt8], descriptors: borrowing OwnedDescriptors, until deadline: Deadline) throws(IPCError) -> DoorResult {
        do {
            return try call(count: bytes.count, descriptors: descriptors, until: deadline,
                            writing: { buffer in bytes.withUnsafeBytes { buffer.copyMemory(from: $0) } },
                            reading: { payload, descriptors in DoorResultParts(payload, &descriptors) })
                .result
        } catch {
            throw error as? IPCError ?? IPCError(.ioError, operation: "door_call", object: object)
        }
    }

    /// Calls the door with `bytes` (`door_call`), blocking until the result.
    public mutating func call(_ bytes: [UInt8]) throws(IPCError) -> DoorResult {
        try call(bytes, descriptors: OwnedDescriptors(), until: .distantFuture)
    }

    /// Calls the door with `bytes` and `descriptors`, blocking until the result.
    public mutating func call(_ bytes: [UInt8], descriptors: borrowing OwnedDescriptors) throws(IPCError) -> DoorResult {
        try call(bytes, descriptors: descriptors, until: .distantFuture)
    }

    /// `call(_:)` waiting at most until `deadline`: `ETIMEDOUT` then.
    public mutating func call(_ bytes: [UInt8], until deadline: Deadline) throws(IPCError) -> DoorResult {
        try call(bytes, descriptors: OwnedDescriptors(), until: deadline)
    }

    /// `call(_:until:)` with a deadline `timeout` from now.
    public mutating func call(_ bytes: [UInt8], timeout: Duration) throws(IPCError) -> DoorResult {
        try call(bytes, descriptors: OwnedDescriptors(), until: .after(timeout))
    }

    /// `call(_:descriptors:until:)` with a deadline `timeout` from now.
    public mutating func call(_ bytes: [UInt8], descriptors: borrowing OwnedDescriptors, timeout: Duration) throws(IPCError) -> DoorResult {
        try call(bytes, descriptors: descriptors, until: .after(timeout))
    }

    /// The door's information now (`door_info`): the welcome's, marked revoked
    /// when the server said so.
    public func currentInfo() -> DoorInfo {
        var info = self.info
        if revokedNotice() { info.isRevoked = true }
        return info
    }
}

extension DoorClient {
    /// The async form of `call(_:descriptors:until:)`: while the result is not
    /// there the task is suspended (the wait runs on the library's waiting engine);
    /// `CancellationError` promptly when the task is cancelled — the result that
    /// comes later is skipped by the next call.
    public mutating func callAsync(_ bytes: [UInt8], descriptors: borrowing OwnedDescriptors,
                                   until deadline: Deadline = .distantFuture) async throws -> DoorResult {
        try check(count: bytes.count, descriptors: descriptors.count)
        let sequence = nextSequence()
        if !descriptors.isEmpty {
            do {
                try await socket.sendAsync(DoorWire.control(.descriptors, sequence: sequence), descriptors: descriptors)
            } catch let error as IPCError {
                throw transportFailure(error)
            }
        }
        let header = DoorWire.RecordHeader(sequence: sequence, descriptorCount: descriptors.count)
        do {
            try await sendCall(count: bytes.count, header: header, until: deadline) { buffer in bytes.withUnsafeBytes { buffer.copyMemory(from: $0) } }
        } catch let error as IPCError {
            throw transportFailure(error)
        }
        while true {
            let outcome: DoorResult?
            do {
                outcome = try await receiveResultAsync(sequence, until: deadline)
            } catch let error as IPCError {
                throw transportFailure(error)
            }
            if let outcome { return outcome }
        }
    }

    /// `callAsync(_:descriptors:until:)` without descriptors.
    public mutating func callAsync(_ bytes: [UInt8], until deadline: Deadline = .distantFuture) async throws -> DoorResult {
        try await callAsync(bytes, descriptors: OwnedDescriptors(), until: deadline)
    }
}

/// A result on its way out of a channel's receive, whose values must be copyable:
/// the bytes, and the descriptors' numbers until `result` owns them again.
struct DoorResultParts {
    let bytes: [UInt8]
    let numbers: [CInt]

    init(_ payload: UnsafeRawBufferPointer, _ descriptors: inout OwnedDescriptors) {
        bytes = Array(payload)
        numbers = descriptors.releaseNumbers()
    }

    var result: DoorResult { DoorResult(bytes, descriptors: OwnedDescriptors(adoptingRaw: numbers)) }
}
