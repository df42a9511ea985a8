import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A door's path (SPEC R1, `fattach`/`fdetach`): a listening seqpacket socket
/// there, and a library thread (`ipc-door-accept`) that accepts each client and
/// hands it to a session thread. The socket has `SO_PASSCRED`, so the kernel
/// attaches every client's credentials to its hello.
final class DoorListener: @unchecked Sendable {
    private let server: DoorServer
    private struct Attached {
        var thread: pthread_t
        var stop: CInt
    }
    private enum Attachment {
        case attaching
        case attached(Attached)
    }
    private let attached = Mutex<Attachment?>(nil)

    init(_ server: DoorServer) { self.server = server }

    func attach(to path: FilePath, mode: FilePermissions, replacingStaleSocket: Bool) throws(IPCError) {
        let busy = attached.withSanitizedLock { state -> Bool in
            if state != nil { return true }
            state = .attaching
            return false
        }
        if busy {
            throw IPCError(.resourceBusy, operation: "fattach", object: IPCError.describe(path: path), detail: "the door is already attached")
        }
        do throws(IPCError) {
            let options = UnixSocketBindOptions(mode: mode, replacingStaleSocket: replacingStaleSocket, removeOnClose: true)
            let listener = try UnixListener(path: path, kind: .seqPacket, options: options)
            if system_passCredentials(listener.descriptor.rawValue, true) != 0 {
                throw IPCError.last("setsockopt(SO_PASSCRED)", fd: listener.descriptor.rawValue)
            }
            let stop = system_eventfd(0, cipc_fd_nonblocking_cloexec)
            if stop < 0 { throw IPCError.last("eventfd", object: IPCError.describe(path: path)) }
            let box = ListenerBox(listener)
            let server = self.server
            server.state.withSanitizedLock { $0.path = path.string }
            server.statistics.setPath(path.string)
            do throws(IPCError) {
                let thread = try LibraryThread.start(name: "ipc-door-accept") { DoorListener.accept(box, server, stop: stop) }
                attached.withSanitizedLock { $0 = .attached(Attached(thread: thread, stop: stop)) }
            } catch {
                _ = system_close(stop)
                throw error
            }
        } catch {
            attached.withSanitizedLock { $0 = nil }
            server.state.withSanitizedLock { $0.path = nil }
            server.statistics.setPath(nil)
            throw error
        }
    }

    /// Ends the acceptor and waits for it; it closes the listener, which removes
    /// the socket file.
    func stop() {
        let taken = attached.withSanitizedLock { state -> Attached? in
            guard case .attached(let ended) = state else { return nil }
            state = nil
            return ended
        }
        guard let ended = taken else { return }
        var one: UInt64 = 1
        _ = system_write(ended.stop, &one, 8)
        LibraryThread.join(ended.thread)
        _ = system_close(ended.stop)
        server.state.withSanitizedLock { $0.path = nil }
        server.statistics.setPath(nil)
    }

    private final class ListenerBox: @unchecked Sendable {
        var listener: UnixListener?
        init(_ listener: consuming UnixListener) { self.listener = consume listener }
    }

    private static func accept(_ box: ListenerBox, _ server: DoorServer, stop: CInt) {
        guard let listener = box.listener.take() else { return }
        let fd = listener.descriptor.rawValue
        while true {
            var entries = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
            let ready = retryingInterrupts { system_ppoll(&entries, 2, nil) }
            if ready < 0 || entries[1].revents != 0 { return }
            let accepted: UnixSocket?
            do throws(IPCError) {
                accepted = try listener.tryAccept()
            } catch {
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection
                // stays queued and the listener readable, so wait a little (or for
                // the stop) rather than spin.
                var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
                var stopEntry = pollfd(fd: stop, events: Int16(POLLIN), revents: 0)
                _ = system_ppoll(&stopEntry, 1, &pause)
                continue
            }
            guard let socket = accepted else { continue }
            // A door that cannot start a thread drops this client (it sees the
            // connection end); the next may find one.
            _ = try? server.serve(socket)
        }
    }
}
