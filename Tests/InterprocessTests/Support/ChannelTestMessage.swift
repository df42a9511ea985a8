import Interprocess

// The channel tests' messages, built and checked exactly as the test peer does
// (Sources/InterprocessTestPeer/ChannelCommands.swift).

/// The test messages: `[sequence: UInt64][checksum: UInt64][payload]`, 16 to
/// `maximum` bytes, the payload random; the checksum covers the sequence, the
/// length and the payload.
enum ChannelTestMessage {
    static func checksum(sequence: UInt64, payload: UnsafeRawBufferPointer) -> UInt64 {
        var hash = 0xcbf2_9ce4_8422_2325 ^ sequence ^ UInt64(payload.count) << 48
        var index = 0
        while index + 8 <= payload.count {
            hash = (hash ^ payload.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            index += 8
        }
        while index < payload.count {
            hash = (hash ^ UInt64(payload[index])) &* 0x0000_0100_0000_01b3
            index += 1
        }
        return hash
    }

    /// Fills `buffer` (at least 16 bytes) as message `sequence`.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, sequence: UInt64, random: inout UInt64) {
        var index = 16
        while index < buffer.count {
            random ^= random << 13; random ^= random >> 7; random ^= random << 17
            if index + 8 <= buffer.count {
                buffer.storeBytes(of: random, toByteOffset: index, as: UInt64.self)
                index += 8
            } else {
                buffer[index] = UInt8(truncatingIfNeeded: random)
                index += 1
            }
        }
        buffer.storeBytes(of: sequence, toByteOffset: 0, as: UInt64.self)
        let check = checksum(sequence: sequence, payload: UnsafeRawBufferPointer(rebasing: buffer[16...]))
        buffer.storeBytes(of: check, toByteOffset: 8, as: UInt64.self)
    }

    /// nil when `bytes` is message `sequence`, intact; else what is wrong.
    static func problem(_ bytes: UnsafeRawBufferPointer, sequence: UInt64) -> String? {
        if bytes.count < 16 { return "message \(sequence) has \(bytes.count) bytes" }
        let seen = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        if seen != sequence { return "message \(sequence) came as \(seen)" }
        let check = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        if check != checksum(sequence: sequence, payload: UnsafeRawBufferPointer(rebasing: bytes[16...])) {
            return "message \(sequence) (\(bytes.count) bytes) fails its checksum"
        }
        return nil
    }
}

/// Sends test message `sequence` of `size` bytes (at least 16).
func sendTestMessage(_ sender: inout SharedMemoryChannel.Sender, size: Int, sequence: UInt64, random: inout UInt64) throws {
    try sender.send(count: size) { span in
        span.withUnsafeMutableBytes { ChannelTestMessage.fill($0, sequence: sequence, random: &random) }
    }
}

/// Receives the next message, waiting at most 30 s (a hang guard), and returns
/// what is wrong with it as message `sequence`, or nil.
func receiveTestMessage(_ receiver: inout SharedMemoryChannel.Receiver, sequence: UInt64) throws -> String? {
    try receiver.receive(timeout: .seconds(30)) { span in
        span.withUnsafeBytes { ChannelTestMessage.problem($0, sequence: sequence) }
    }
}

/// The next pseudo-random number of a xorshift generator.
func nextRandom(_ state: inout UInt64) -> UInt64 {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17
    return state
}

/// Receives the next message of any producer, waiting at most 30 s (a hang
/// guard): each producer numbers its messages from `TAG << 48` (the peer's
/// `channel-send … TAG`), so the message must be the next of its tag, intact.
/// Returns its tag, or throws `TaggedMessageProblem`.
func receiveTaggedMessage(_ receiver: inout SharedMemoryChannel.Receiver, next: inout [UInt64: UInt64]) throws -> UInt64 {
    let outcome: Result<UInt64, TaggedMessageProblem> = try receiver.receive(timeout: .seconds(30)) { span in
        span.withUnsafeBytes { bytes in
            if bytes.count < 16 { return .failure(TaggedMessageProblem(what: "a message of \(bytes.count) bytes")) }
            let tag = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self) >> 48
            let expected = tag << 48 | next[tag, default: 0]
            if let problem = ChannelTestMessage.problem(bytes, sequence: expected) { return .failure(TaggedMessageProblem(what: problem)) }
            next[tag, default: 0] += 1
            return .success(tag)
        }
    }
    return try outcome.get()
}

struct TaggedMessageProblem: Error, CustomStringConvertible {
    let what: String
    var description: String { what }
}
