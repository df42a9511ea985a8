import Interprocess

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for the shared-memory channel (SPEC M5). SOURCE is a channel name
// (`/name`) or `fd:N`, a descriptor handed down by the test. Messages are
// `ChannelTestMessage`s, which ChannelTests builds and checks the same way.

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

/// Opens the channel SOURCE: a name, or `fd:N` handed down by the parent.
func openChannel(_ source: String) throws -> SharedMemoryChannel {
    if source.hasPrefix("fd:") {
        return try SharedMemoryChannel(adopting: OwnedDescriptor(inheritedNumber: CInt(String(source.dropFirst(3)))))
    }
    return try SharedMemoryChannel.open(source)
}

extension PeerCommands {
    static let channels: [String: PeerCommand] = [
        // channel-send SOURCE COUNT MAXIMUM SEED [TAG]: become a sender, print
        // "sending", send COUNT test messages of 16 to MAXIMUM bytes (COUNT 0: until
        // killed), numbered from TAG << 48, print "sent", exit 0. An error prints its
        // errno name (exit 1).
        "channel-send": { args in
            var sender = try openChannel(args[0]).sender()
            let count = UInt64(args[1])!, maximum = Int(args[2])!
            var random = UInt64(args[3])! | 1
            let first = args.count > 4 ? UInt64(args[4])! << 48 : 0
            say("sending")
            var sequence = first
            do throws(IPCError) {
                while count == 0 || sequence - first < count {
                    random ^= random << 13; random ^= random >> 7; random ^= random << 17
                    let size = 16 + Int(random % UInt64(maximum - 15))
                    try sendTestMessage(&sender, size: size, sequence: sequence, random: &random)
                    sequence += 1
                }
            } catch {
                say(error.errnoName)
                return 1
            }
            say("sent")
            return 0
        },
        // channel-receive SOURCE COUNT: become the receiver, print "receiving",
        // receive and check COUNT test messages, print "ok COUNT", or "bad WHAT",
        // or the errno name of the error.
        "channel-receive": { args in
            var receiver = try openChannel(args[0]).receiver()
            let count = UInt64(args[1])!
            say("receiving")
            for sequence in 0..<count {
                let problem = try receiver.receive(timeout: .seconds(60)) { span in
                    span.withUnsafeBytes { ChannelTestMessage.problem($0, sequence: sequence) }
                }
                if let problem {
                    say("bad \(problem)")
                    return 0
                }
            }
            say("ok \(count)")
            return 0
        },
        // channel-claim-hang SOURCE: become a sender, claim room for a message and,
        // inside the send (claimed, not committed), print "claimed" and wait for
        // stdin to close — the test kills it there.
        "channel-claim-hang": { args in
            var sender = try openChannel(args[0]).sender()
            try sender.send(count: 64) { span in
                span.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xEE) }
                say("claimed")
                _ = readLine()
            }
            return 0
        },
        // channel-fuzz NAME SEED: map the shared memory object NAME and, until stdin
        // closes, write random bytes at random offsets past the placement header
        // (the geometry, the records, the indices, the ring). Prints "fuzzing",
        // then "done WRITES".
        "channel-fuzz": { args in
            let mapping = try PosixSharedMemory.open(args[0]).map()
            var random = UInt64(args[1])! | 1
            func next() -> UInt64 {
                random ^= random << 13; random ^= random >> 7; random ^= random << 17
                return random
            }
            say("fuzzing")
            var writes = 0
            while true {
                if writes % 64 == 0 {
                    var stdin = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
                    if poll(&stdin, 1, 0) > 0 { break }
                }
                let offset = 128 + Int(next() % UInt64(mapping.length - 128 - 8))
                switch next() % 4 {
                case 0: try mapping.store(UInt8(truncatingIfNeeded: next()), at: offset)
                case 1: try mapping.store(next(), at: offset & ~7)
                case 2: try mapping.store(UInt32(truncatingIfNeeded: next() % 4096), at: offset & ~3)
                default: try mapping.store(UInt64(truncatingIfNeeded: next() % 65536) & ~7, at: offset & ~7)
                }
                writes += 1
            }
            say("done \(writes)")
            return 0
        },
    ]
}

func sendTestMessage(_ sender: inout SharedMemoryChannel.Sender, size: Int, sequence: UInt64, random: inout UInt64) throws(IPCError) {
    do {
        try sender.send(count: size) { span in
            span.withUnsafeMutableBytes { ChannelTestMessage.fill($0, sequence: sequence, random: &random) }
        }
    } catch let error as IPCError {
        throw error
    } catch {
        fatalError("the fill throws nothing")
    }
}
