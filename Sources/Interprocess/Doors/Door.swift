import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A door (SPEC R1–R6): same-host RPC with the model and vocabulary of Solaris
/// doors — a procedure in a server process that clients call with bytes and
/// descriptors and that returns bytes and descriptors, knowing who called.
///
/// ```swift
/// // server
/// let door = try Door(name: "echo") { call in try call.reply(call.argumentBytes) }
/// try door.attach(to: "/run/myservice.door")           // fattach, mode 0600
///
/// // client, in another process
/// var client = try DoorClient(path: "/run/myservice.door")
/// let result = try client.call(Array("ping".utf8))     // door_call
/// ```
///
/// Linux has no doors, so a door is built from what it has: a seqpacket socket
/// (its path is the door's name; it carries the hello, the kernel's credentials,
/// and descriptors) and, per client, two shared-memory channels — calls one way,
/// results the other — so a call costs about a channel round trip. Each client is
/// served by its own library thread (`ipc-door`), up to `maximumClients`;
/// procedures run on those threads, so calls of different clients run
/// concurrently, and a client's calls one after another. Doors/README.md has the
/// protocol and the choices.
///
/// Ending: `revoke()` fails every later call with `EBADF` (calls running finish);
/// `detach()` removes the path; `close()` (or the last reference going) does both
/// and waits for the door's threads.
public final class Door: Sendable {
    let server: DoorServer
    private let listener: DoorListener

    /// Creates a door around a blocking procedure, run on the client's session
    /// thread (`door_create`). `name` identifies the procedure in `info` and
    /// `ipc ls`; `cookie` is handed to every call.
    public init(name: String = "door", cookie: UInt64 = 0, options: DoorOptions = DoorOptions(),
                procedure: @escaping @Sendable (inout DoorCall) throws -> Void) throws(IPCError) {
        server = try DoorServer(name: name, cookie: cookie, options: options, procedure: .blocking(procedure))
        listener = DoorListener(server)
        server.statistics.setProcedure(name)
    }

    /// Creates a door around an async procedure: it runs as a task (its session's
    /// thread waits for it) and returns a `DoorResult`.
    public init(name: String = "door", cookie: UInt64 = 0, options: DoorOptions = DoorOptions(),
                asyncProcedure: @escaping @Sendable (consuming DoorRequest) async throws -> DoorResult) throws(IPCError) {
        server = try DoorServer(name: name, cookie: cookie, options: options, procedure: .async(asyncProcedure))
        listener = DoorListener(server)
        server.statistics.setProcedure(name)
    }

    deinit {
        listener.stop()
        server.revoke()
        server.close()
    }

    /// Attaches the door to `path` (`fattach`): a seqpacket socket file there, with
    /// `mode` (0600 by default: only this user's processes may call; a client
    /// without write permission gets `EACCES`). `EADDRINUSE` when the path exists,
    /// unless it is a stale socket and `replacingStaleSocket`. `EBUSY` when the door
    /// is already attached.
    public func attach(to path: FilePath, mode: FilePermissions = [.ownerRead, .ownerWrite],
                       replacingStaleSocket: Bool = false) throws(IPCError) {
        try listener.attach(to: path, mode: mode, replacingStaleSocket: replacingStaleSocket)
    }

    /// Detaches the door from its path (`fdetach`) and removes the socket file;
    /// clients already connected keep calling.
    public func detach() {
        listener.stop()
    }

    /// A new client connection to this door, to hand to another process (over a
    /// Unix socket, or `Spawn.inherit`), which opens it with
    /// `DoorClient(adopting:)`. The credentials its calls carry are those of the
    /// process that opens it.
    public func handOut() throws(IPCError) -> OwnedDescriptor {
        let pair = try UnixSocketPair(.seqPacket)
        if system_passCredentials(pair.first.descriptor.rawValue, true) != 0 {
            throw IPCError.last("setsockopt(SO_PASSCRED)", fd: pair.first.descriptor.rawValue)
        }
        try server.serve(UnixSocket(adopting: pair.first.descriptor.duplicate()))
        return try pair.second.descriptor.duplicate()
    }

    /// Revokes the door (`door_revoke`): every later call, and every client that
    /// opens it, fails with `EBADF`; a call running finishes. Clients' sessions end
    /// within 100 ms. The path stays (its `info` says revoked) until `detach`.
    public func revoke() {
        server.revoke()
    }

    /// Revokes and detaches the door and waits until its threads have ended.
    public func close() {
        listener.stop()
        server.revoke()
        server.close()
    }

    /// The door's information (`door_info`).
    public var info: DoorInfo { server.info }

    /// The door's information, asked of the server behind `path` (`door_info` on
    /// an opened door): `ECONNREFUSED` when no server listens there.
    public static func info(at path: FilePath, timeout: Duration = .seconds(5)) throws(IPCError) -> DoorInfo {
        let deadline = Deadline.after(timeout)
        let socket = try DoorClient.connect(path, until: deadline)
        let reply = try DoorClient.exchange(socket, .helloInfo, until: deadline, object: IPCError.describe(path: path))
        guard reply.control.kind == .info, let info = DoorInfo(decoding: reply.control.payload) else {
            throw IPCError(.protocolError, operation: "door_info", object: IPCError.describe(path: path), detail: "the server's answer is not a door's information")
        }
        return info
    }
}
