/// One call as the door's procedure sees it (SPEC R1, R3, R4): the arguments (in
/// place in the call channel, valid during the procedure), the descriptors that
/// came with them (the procedure owns them), the caller's credentials, the door's
/// cookie, and `reply` — `door_return`.
///
/// ```swift
/// let door = try Door(name: "upper") { call in
///     let text = call.withArguments { span in span.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
///     try call.reply(Array(text.uppercased().utf8))
/// }
/// ```
///
/// A procedure that returns without replying returns an empty result; one that
/// throws fails the call, and the error's text (and errno, for an `IPCError`)
/// travels to the caller.
public struct DoorCall: ~Copyable {
    /// The caller, from the kernel.
    public let caller: DoorCredentials
    /// The value the door was created with (Solaris's cookie).
    public let cookie: UInt64
    /// The descriptors the caller passed; take them with `take(at:)`/`takeNext()`.
    /// Those left are closed after the procedure.
    public var descriptors: OwnedDescriptors
    let arguments: UnsafeRawBufferPointer
    /// The session (alive for the whole call: the call runs on its thread).
    unowned(unsafe) let connection: DoorConnection
    let sequence: UInt64
    let maximumResultSize: Int
    var replied = false

    /// The arguments' size in bytes.
    public var argumentCount: Int { arguments.count }

    /// A copy of the arguments.
    public var argumentBytes: [UInt8] { Array(arguments) }

    /// Calls `body` with the arguments in place (no copy).
    public func withArguments<R, E: Error>(_ body: (RawSpan) throws(E) -> R) throws(E) -> R {
        try body(arguments.bytes)
    }

    /// Returns `count` bytes that `body` writes in place in the reply channel, with
    /// `descriptors` (`door_return`). At most once per call: `EALREADY` after.
    /// `EMSGSIZE` above the door's maximum message size.
    public mutating func reply(count: Int, descriptors: consuming OwnedDescriptors = OwnedDescriptors(),
                               _ body: (UnsafeMutableRawBufferPointer) -> Void) throws(IPCError) {
        guard !replied else {
            throw IPCError(.alreadyInProcess, operation: "door_return", detail: "a call returns once")
        }
        guard count <= maximumResultSize, count >= 0 else {
            throw IPCError(.messageTooLong, operation: "door_return",
                           detail: "a \(count)-byte result; the door carries at most \(maximumResultSize) bytes")
        }
        guard descriptors.count <= DoorWire.maximumDescriptors else {
            throw IPCError(.invalidArgument, operation: "door_return", detail: "at most \(DoorWire.maximumDescriptors) descriptors go with a result")
        }
        replied = true
        try connection.reply(sequence, count: count, descriptors: descriptors, body)
    }

    /// Returns `count` bytes that `body` writes in place, given the arguments in
    /// place too (an echo, a transform): `body(arguments, result)`.
    public mutating func reply(count: Int, descriptors: consuming OwnedDescriptors = OwnedDescriptors(),
                               fromArguments body: (RawSpan, UnsafeMutableRawBufferPointer) -> Void) throws(IPCError) {
        let arguments = self.arguments
        try reply(count: count, descriptors: descriptors) { result in body(arguments.bytes, result) }
    }

    /// Returns `bytes` and `descriptors` (`door_return`).
    public mutating func reply(_ bytes: [UInt8], descriptors: consuming OwnedDescriptors = OwnedDescriptors()) throws(IPCError) {
        try reply(count: bytes.count, descriptors: descriptors) { buffer in
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }
}

/// What a door call gives back (SPEC R2, R3): the result's bytes and the
/// descriptors the procedure returned (this process owns them).
public struct DoorResult: ~Copyable, Sendable {
    public var bytes: [UInt8]
    public var descriptors: OwnedDescriptors

    public init(_ bytes: [UInt8], descriptors: consuming OwnedDescriptors = OwnedDescriptors()) {
        self.bytes = bytes
        self.descriptors = descriptors
    }
}

/// A call as an async procedure sees it: the arguments copied, the descriptors,
/// the caller and the cookie; the procedure returns a `DoorResult`.
public struct DoorRequest: ~Copyable, Sendable {
    public let arguments: [UInt8]
    public var descriptors: OwnedDescriptors
    public let caller: DoorCredentials
    public let cookie: UInt64
}
