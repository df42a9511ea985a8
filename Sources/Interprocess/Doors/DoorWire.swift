#if canImport(Glibc)
import Glibc
#endif

/// What travels between a door's client and its server (SPEC R1–R6): the control
/// messages on the connection's seqpacket socket, and the header of every call and
/// reply record in the connection's two channels. Everything read is validated by
/// its reader; a peer that sends anything else loses its connection, nothing more.
@usableFromInline
enum DoorWire {
    static let version: UInt32 = 1

    /// A control message on the socket: kind, status (an errno, or the protocol
    /// version in a hello), a call sequence number, then the kind's payload.
    enum Kind: UInt32 {
        /// Client: open a calling session (payload empty). The kernel attaches the
        /// client's credentials (SCM_CREDENTIALS): the server set `SO_PASSCRED`.
        case helloCall = 1
        /// Client: only the door's information, no session.
        case helloInfo = 2
        /// Server: the session is open (status 0: the two channels' memfds come
        /// with it, payload the door's information) or refused (status the errno,
        /// payload the reason).
        case welcome = 3
        /// Server: the door's information (payload).
        case info = 4
        /// Either side: the descriptors of call `sequence` (SCM_RIGHTS), sent before
        /// its record so they wait on the socket when the record is read.
        case descriptors = 5
        /// Server: the door was revoked; the connection ends.
        case revoked = 6
    }

    static let controlHeaderSize = 16
    /// The largest control message read: a header and the information or a reason.
    static let controlCapacity = 4096

    static func control(_ kind: Kind, status: UInt32 = 0, sequence: UInt64 = 0, payload: [UInt8] = []) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(controlHeaderSize + payload.count)
        append(kind.rawValue, to: &bytes)
        append(status, to: &bytes)
        append(sequence, to: &bytes)
        bytes += payload.prefix(controlCapacity - controlHeaderSize)
        return bytes
    }

    /// A parsed control message; nil when it is too short or of no known kind.
    struct Control {
        var kind: Kind
        var status: UInt32
        var sequence: UInt64
        var payload: ArraySlice<UInt8>

        init?(_ bytes: ArraySlice<UInt8>) {
            guard bytes.count >= controlHeaderSize,
                  let kind = Kind(rawValue: DoorWire.load(UInt32.self, bytes, 0)) else { return nil }
            self.kind = kind
            status = DoorWire.load(UInt32.self, bytes, 4)
            sequence = DoorWire.load(UInt64.self, bytes, 8)
            payload = bytes.dropFirst(controlHeaderSize)
        }
    }

    /// The header of a record in a channel: the call's sequence number, the status
    /// (0, or the errno of a failed procedure; then the payload is the error's
    /// text), and how many descriptors wait on the socket for it.
    @usableFromInline static let recordHeaderSize = 16
    /// At most this many descriptors go with one call or reply (the kernel's
    /// SCM_MAX_FD is 253).
    static let maximumDescriptors = 253

    /// The status of a result that says the door was revoked (the call did not run).
    static let revokedStatus = UInt32.max

    @usableFromInline
    struct RecordHeader {
        @usableFromInline var sequence: UInt64
        @usableFromInline var status: UInt32
        @usableFromInline var descriptorCount: UInt32

        @inlinable
        init(sequence: UInt64, status: UInt32 = 0, descriptorCount: Int = 0) {
            self.sequence = sequence
            self.status = status
            self.descriptorCount = UInt32(descriptorCount)
        }

        /// Reads a header from the start of `bytes`; nil when the record is too
        /// short or names more descriptors than may come.
        init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count >= recordHeaderSize else { return nil }
            sequence = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            status = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
            descriptorCount = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
            guard descriptorCount <= UInt32(maximumDescriptors) else { return nil }
        }

        @inlinable
        func store(to bytes: UnsafeMutableRawBufferPointer) {
            bytes.storeBytes(of: sequence, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: status, toByteOffset: 8, as: UInt32.self)
            bytes.storeBytes(of: descriptorCount, toByteOffset: 12, as: UInt32.self)
        }
    }

    /// A channel that carries records of `maximumMessageSize` payload bytes: the
    /// header and room for the alignment padding before large records, twice over
    /// (a record takes at most half a ring), as a power of two.
    static func channelCapacity(maximumMessageSize: Int) -> Int {
        let record = recordHeaderSize + maximumMessageSize + 64 + 8
        var capacity = 4096
        while capacity / 2 - 8 < record { capacity <<= 1 }
        return capacity
    }

    /// Sends a control message (and copies of `descriptors`) on a door's socket.
    static func send(_ bytes: [UInt8], on socket: borrowing UnixSocket, descriptors: borrowing OwnedDescriptors = OwnedDescriptors(),
                     until deadline: Deadline) throws(IPCError) {
        try withRawBytes(bytes) { (raw) throws(IPCError) in try socket.send(raw, descriptors: descriptors, until: deadline) }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func load<T: FixedWidthInteger>(_ type: T.Type, _ bytes: ArraySlice<UInt8>, _ offset: Int) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<MemoryLayout<T>.size { raw[index] = bytes[bytes.startIndex + offset + index] }
        }
        return T(littleEndian: value)
    }
}
