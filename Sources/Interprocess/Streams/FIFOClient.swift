import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The client side of `FIFOServer` (SPEC S5): sends one request on the server's
/// well-known FIFO and reads the reply from a FIFO of its own, `PATH.<pid>`.
///
/// Because the reply FIFO is named by the pid, a process makes one call at a
/// time; a second concurrent call fails with `EBUSY`.
public enum FIFOClient {
    /// The most payload bytes a request can carry to the well-known FIFO at
    /// `server` from this process (PIPE_BUF less the `<pid> ` prefix and newline).
    public static var maxPayloadLength: Int {
        Pipe.atomicWriteLimit - "\(getpid()) \n".utf8.count
    }

    /// Sends `payload` to the server at `server` and returns its reply, waiting at
    /// most until `deadline` (`ETIMEDOUT`).
    ///
    /// Throws `EMSGSIZE` when the request would be larger than PIPE_BUF and
    /// `EINVAL` when the payload contains a newline (both before anything is sent),
    /// `ENXIO` when no server has the well-known FIFO open, and `EMSGSIZE` when the
    /// reply is longer than `maxReplyLength`.
    public static func call(_ server: FilePath, _ payload: [UInt8], until deadline: Deadline,
                            maxReplyLength: Int = 1 << 20) throws(IPCError) -> [UInt8] {
        var call = try Call(server: server, payload: payload)
        defer { call.end() }
        let reply = try call.replyFIFO()
        let request = try call.serverFIFO()
        var line = call.line
        try withRawBuffer(&line) { (raw) throws(IPCError) in
            try request.write(atomically: UnsafeRawBufferPointer(raw), until: deadline)
        }
        try request.close()
        return try WholeStreamRecord.read(from: TimedReader(reader: reply, deadline: deadline), maxLength: maxReplyLength)
    }

    /// `call(…until:)` with a deadline `timeout` from now.
    public static func call(_ server: FilePath, _ payload: [UInt8], timeout: Duration, maxReplyLength: Int = 1 << 20) throws(IPCError) -> [UInt8] {
        try call(server, payload, until: .after(timeout), maxReplyLength: maxReplyLength)
    }

    /// Sends `payload` and returns the reply without blocking a thread; cancelling
    /// the task ends the call with `CancellationError`.
    public static func callAsync(_ server: FilePath, _ payload: [UInt8], maxReplyLength: Int = 1 << 20) async throws -> [UInt8] {
        var call = try Call(server: server, payload: payload)
        defer { call.end() }
        let reply = try call.replyFIFO()
        let request = try call.serverFIFO()
        var sent = false
        while !sent {
            try await request.descriptor.waitAsync(for: .writable)
            sent = try tryWrite(atomically: call.line, to: request)
        }
        try request.close()
        var result: [UInt8] = []
        while true {
            let chunk = try await reply.readAsync(upTo: 65536)
            if chunk.isEmpty { return result }
            result += chunk
            if result.count > maxReplyLength {
                throw IPCError(.messageTooLong, operation: "read reply",
                               detail: "the reply is longer than the limit of \(maxReplyLength) bytes")
            }
        }
    }

    /// One atomic write on the non-blocking writer; false when another client took
    /// the room first.
    private static func tryWrite(atomically line: [UInt8], to writer: borrowing PipeWriter) throws(IPCError) -> Bool {
        do {
            try writer.write(atomically: line)
            return true
        } catch where error.isWouldBlock {
            return false
        }
    }

    /// One call in progress: the request line and the reply FIFO's name, which is
    /// removed at the end.
    struct Call {
        static let inProgress = Atomic<Bool>(false)

        let server: FilePath
        let replyPath: FilePath
        let line: [UInt8]
        private var created = false

        init(server: FilePath, payload: [UInt8]) throws(IPCError) {
            guard !payload.contains(0x0A) else {
                throw IPCError(.invalidArgument, operation: "FIFO request", object: IPCError.describe(path: server),
                               detail: "the payload contains a newline, which ends a request")
            }
            let line = Array("\(getpid()) ".utf8) + payload + [0x0A]
            guard line.count <= Pipe.atomicWriteLimit else {
                throw IPCError(.messageTooLong, operation: "FIFO request", object: IPCError.describe(path: server),
                               detail: "a request of \(line.count) bytes is more than PIPE_BUF (\(Pipe.atomicWriteLimit)); payloads can be \(FIFOClient.maxPayloadLength) bytes")
            }
            guard Call.inProgress.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
                throw IPCError(.resourceBusy, operation: "FIFO request", object: IPCError.describe(path: server),
                               detail: "this process already has a call in progress (the reply FIFO is named by the pid)")
            }
            self.server = server
            self.replyPath = FIFOServer.replyPath(server: server, pid: getpid())
            self.line = line
        }

        /// Creates the reply FIFO and opens it for reading before the request goes
        /// out, so the server's open for writing succeeds at once. A leftover of
        /// this pid from a process that died is replaced.
        mutating func replyFIFO() throws(IPCError) -> PipeReader {
            do {
                try FIFO.create(at: replyPath)
            } catch where error.errno == .fileExists {
                try removeLeftover()
                try FIFO.create(at: replyPath)
            }
            created = true
            // Non-blocking, so the open returns at once. Linux reports no readiness
            // on a FIFO no writer has opened yet, so waiting for readable waits for
            // the server's reply (or its close).
            return try FIFO.openForReading(replyPath, nonBlocking: true)
        }

        /// The well-known FIFO, opened without waiting: `ENXIO` when no server.
        func serverFIFO() throws(IPCError) -> PipeWriter {
            do {
                return try FIFO.openForWriting(server, nonBlocking: true)
            } catch where error.errno == .noSuchAddressOrDevice {
                throw IPCError(.noSuchAddressOrDevice, operation: "open", object: IPCError.describe(path: server),
                               detail: "no server has the FIFO open for reading")
            }
        }

        /// A reply FIFO left by an earlier process with this pid: removed only when
        /// it is a FIFO of this user.
        private func removeLeftover() throws(IPCError) {
            var info = stat()
            let rc = replyPath.withPlatformString { system_fstatat(AT_FDCWD, $0, &info, AT_SYMLINK_NOFOLLOW) }
            guard rc == 0, info.st_mode & S_IFMT == S_IFIFO, info.st_uid == geteuid() else {
                throw IPCError(.fileExists, operation: "mkfifo", object: IPCError.describe(path: replyPath),
                               detail: "something else is at the reply FIFO's name")
            }
            try FIFO.unlink(replyPath)
        }

        func end() {
            if created { try? FIFO.unlink(replyPath) }
            Call.inProgress.store(false, ordering: .releasing)
        }
    }
}

/// A reader whose every read waits at most until one deadline.
private struct TimedReader: ~Copyable, ByteStreamReader {
    let reader: PipeReader
    let deadline: Deadline

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
        try reader.read(into: buffer, until: deadline)
    }
}
