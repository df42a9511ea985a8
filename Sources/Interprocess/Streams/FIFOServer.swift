import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One request read from a FIFO server's well-known FIFO.
public struct FIFORequest: Sendable, Equatable {
    /// The client's process id, which names its reply FIFO.
    public var pid: pid_t
    public var payload: [UInt8]

    public init(pid: pid_t, payload: [UInt8]) {
        self.pid = pid
        self.payload = payload
    }
}

/// The FIFO client–server of *UNIX Network Programming* (SPEC S5, X3): clients
/// write one-line requests to a well-known FIFO, and the server answers each on a
/// FIFO the client made, named by the client's pid (`PATH.<pid>`).
///
/// Protocol: a request is `<pid> <payload>\n`, at most PIPE_BUF bytes, written in
/// one atomic write, so requests from many clients never interleave. The reply is
/// everything written to `PATH.<pid>` until the server closes it. `FIFOClient`
/// speaks it.
///
/// ```swift
/// let server = try FIFOServer(path: "/tmp/echo")
/// try await server.serve { request in request.payload.uppercased() }
/// ```
///
/// **A client that never opens its reply FIFO cannot stall the server.** Each
/// reply is sent by a task of its own, and opening the reply FIFO and writing the
/// reply must finish within `replyTimeout`, after which the reply is abandoned.
/// Handling replies concurrently, rather than one after another with a time-bounded
/// open, means a rogue client costs the other clients nothing — not even the time
/// bound, which a sequential server would add to every later client for every
/// rogue request. The bound keeps abandoned replies from accumulating; and at most
/// `maxPendingReplies` replies wait at once: requests beyond that are dropped (their
/// clients time out), so a flood of rogue requests cannot exhaust threads either.
/// Well-behaved clients (`FIFOClient`) open their reply FIFO before sending the
/// request, so replying to them needs no waiting at all.
///
/// Requests that are malformed — not `<pid> <payload>`, a pid that is not a plain
/// positive decimal number, a line longer than PIPE_BUF — are skipped. A reply
/// FIFO is opened like any FIFO here (`O_NOFOLLOW`, must be a FIFO), so a client
/// cannot make the server write into a regular file or follow a link.
///
/// As in the book, any process allowed to write the well-known FIFO can name any
/// pid: the reply FIFO's permissions are what protect a client.
public struct FIFOServer: ~Copyable {
    /// The well-known FIFO.
    public let path: FilePath
    /// How long one reply may wait for its client to open the reply FIFO and read.
    public var replyTimeout: Duration
    /// How many replies may wait for their clients at once.
    public var maxPendingReplies: Int
    private let requests: PipeReader
    /// The server's own write end, so the well-known FIFO never reads end of file
    /// between clients.
    private let keepAlive: PipeWriter

    /// Creates the well-known FIFO at `path` (or uses the FIFO already there, for a
    /// server that restarts) and opens it. Clients need write permission on it.
    public init(path: FilePath, permissions: FilePermissions = .ownerReadWrite,
                replyTimeout: Duration = .seconds(2), maxPendingReplies: Int = 64) throws(IPCError) {
        do {
            try FIFO.create(at: path, permissions: permissions)
        } catch where error.errno == .fileExists {
            // An existing FIFO is reused; anything else is refused by the opens below.
        }
        // A non-blocking open for reading returns at once; then our own writer
        // opens without waiting, since a reader exists.
        let requests = try FIFO.openForReading(path, nonBlocking: true)
        let keepAlive = try FIFO.openForWriting(path, nonBlocking: true)
        self.requests = requests
        self.keepAlive = keepAlive
        self.path = path
        self.replyTimeout = replyTimeout
        self.maxPendingReplies = max(1, maxPendingReplies)
    }

    /// Reads requests and answers each with `handler`'s bytes, until the task is
    /// cancelled (then throws `CancellationError`, after the pending replies end).
    public func serve(_ handler: @escaping @Sendable (FIFORequest) async -> [UInt8]) async throws {
        let path = self.path
        let timeout = replyTimeout
        let limit = maxPendingReplies
        let pending = PendingCount()
        var lines = RequestLines()
        try await withThrowingDiscardingTaskGroup { group in
            while true {
                let chunk = try await requests.readAsync(upTo: 65536)
                for line in lines.append(chunk) {
                    guard let request = FIFOServer.parse(line) else { continue }
                    guard pending.value.add(1, ordering: .relaxed).newValue <= limit else {
                        pending.value.subtract(1, ordering: .relaxed)
                        continue
                    }
                    group.addTask {
                        await FIFOServer.reply(to: request, server: path, timeout: timeout, handler: handler)
                        pending.value.subtract(1, ordering: .relaxed)
                    }
                }
            }
        }
    }

    /// Removes the well-known FIFO's name; clients can no longer reach the server.
    public func unlink() throws(IPCError) { try FIFO.unlink(path) }

    /// Closes the server's ends of the well-known FIFO (the name stays).
    public consuming func close() throws(IPCError) {
        let writerResult: IPCError?
        do { try keepAlive.close(); writerResult = nil } catch { writerResult = error }
        try requests.close()
        if let writerResult { throw writerResult }
    }

    /// The reply FIFO of client `pid`: `PATH.<pid>`.
    public static func replyPath(server: FilePath, pid: pid_t) -> FilePath {
        FilePath(server.string + ".\(pid)")
    }

    /// `<pid> <payload>` with a plain positive decimal pid, or nil.
    static func parse(_ line: ArraySlice<UInt8>) -> FIFORequest? {
        guard let space = line.firstIndex(of: 0x20) else { return nil }
        let digits = line[..<space]
        guard (1...10).contains(digits.count), digits.first != 0x30,
              digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard value <= Int(Int32.max) else { return nil }
        return FIFORequest(pid: pid_t(value), payload: Array(line[(space + 1)...]))
    }

    private static func reply(to request: FIFORequest, server: FilePath, timeout: Duration,
                              handler: @Sendable (FIFORequest) async -> [UInt8]) async {
        let response = await handler(request)
        let path = replyPath(server: server, pid: request.pid)
        // The bound covers the open and the write: whichever of the two tasks ends
        // first cancels the other.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                guard let writer = try? await FIFO.openForWritingAsync(path) else { return }
                try? await writer.writeAsync(all: response)
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The number of replies waiting for their clients.
private final class PendingCount: Sendable {
    let value = Atomic<Int>(0)
}

/// Splits the well-known FIFO's bytes into request lines; a line longer than
/// PIPE_BUF cannot be a request and is dropped whole.
struct RequestLines {
    private var partial: [UInt8] = []
    private var discarding = false

    mutating func append(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var rest = bytes[...]
        while let newline = rest.firstIndex(of: 0x0A) {
            let piece = rest[..<newline]
            rest = rest[(newline + 1)...]
            if discarding {
                discarding = false
            } else if partial.isEmpty {
                lines.append(piece)
            } else {
                lines.append((partial + piece)[...])
            }
            partial.removeAll()
        }
        if !discarding {
            partial += rest
            if partial.count > Pipe.atomicWriteLimit {
                partial.removeAll()
                discarding = true
            }
        }
        return lines
    }
}
