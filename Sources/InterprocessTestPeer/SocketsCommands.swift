import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension PeerCommands {
    static let sockets: [String: PeerCommand] = [
        // socket-echo FD: send back every message (or stream chunk) received on the
        // Unix socket FD, until end of file or the message "quit".
        "socket-echo": { args in
            let socket = try adoptSocket(args[0])
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
                if n == 0 || buffer[..<n].elementsEqual("quit".utf8) { return 0 }
                try socket.send(Array(buffer[..<n]))
            }
        },
        // socket-client KIND PATH MESSAGE: connect to PATH, send MESSAGE, print the
        // reply (a stream client shuts down writing and reads to end of file).
        "socket-client": { args in
            let socket = try UnixSocket.connect(to: FilePath(args[1]), kind: kind(args[0]))
            try socket.send(Array(args[2].utf8))
            var reply: [UInt8] = []
            if socket.kind == .stream {
                try socket.shutdown(.write)
                while true {
                    let part = try socket.read(upTo: 4096)
                    if part.isEmpty { break }
                    reply += part
                }
            } else {
                reply = try socket.receive(upTo: 4096)
            }
            print(String(decoding: reply, as: UTF8.self))
            return 0
        },
        // datagram-client SERVER CLIENT MESSAGE: bind a datagram socket to CLIENT,
        // send MESSAGE to SERVER, print the reply and who sent it.
        "datagram-client": { args in
            let socket = try UnixSocket.bind(to: FilePath(args[1]), kind: .datagram,
                                             options: UnixSocketBindOptions(removeOnClose: true))
            try socket.send(Array(args[2].utf8), to: UnixSocketAddress(path: FilePath(args[0])))
            let (reply, sender) = try socket.receiveFrom(upTo: 4096)
            print("\(String(decoding: reply, as: UTF8.self)) from \(sender)")
            return 0
        },
        // connect-errno KIND PATH: exit 0 if connecting works, else with the errno.
        "connect-errno": { args in
            do {
                _ = try UnixSocket.connect(to: FilePath(args[1]), kind: kind(args[0]))
                return 0
            } catch let error as IPCError {
                return error.errno.rawValue
            }
        },
        // credentials-client KIND PATH: connect, send "pid uid gid", wait for end of
        // file.
        "credentials-client": { args in
            let socket = try UnixSocket.connect(to: FilePath(args[1]), kind: kind(args[0]))
            try socket.send(Array("\(getpid()) \(getuid()) \(getgid())".utf8))
            while try !socket.read(upTo: 64).isEmpty {}
            return 0
        },
        // write-through-received FD TEXT: receive one descriptor on socket FD and
        // write TEXT through it. Exit 3 if it is not close-on-exec, 4 if the count
        // is not 1.
        "write-through-received": { args in
            let socket = try adoptSocket(args[0])
            var buffer = [UInt8](repeating: 0, count: 64)
            var message = try socket.receive(into: &buffer, descriptorLimit: 4)
            guard message.descriptors.count == 1, let file = message.descriptors.take(at: 0) else { return 4 }
            guard try file.isCloseOnExec else { return 3 }
            try file.write(all: Array(args[1].utf8))
            return 0
        },
        // send-pipe-readers FD N: make N pipes holding "pipe I" each (write ends
        // closed) and send their read ends over socket FD in one message "fds".
        "send-pipe-readers": { args in
            let socket = try adoptSocket(args[0])
            var readers = OwnedDescriptors()
            for i in 0..<Int(args[1])! {
                let pipe = try Pipe()
                try pipe.writer.write(all: Array("pipe \(i)".utf8))
                try pipe.writer.close()
                readers.append(try pipe.reader.descriptor.duplicate())
            }
            try socket.send(Array("fds".utf8), descriptors: readers)
            return 0
        },
        // adopt-inherited FD TEXT: adopt socket FD by number, say whether it was
        // close-on-exec before and after ("cloexec false true"), and send TEXT on it;
        // or say the errno name when adopting fails.
        "adopt-inherited": { args in
            let number = CInt(args[0])
            let before = cipc_fcntl_void(number, F_GETFD)
            do throws(IPCError) {
                let socket = try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: number))
                say("cloexec \(before >= 0 && before & FD_CLOEXEC != 0) \(try socket.descriptor.isCloseOnExec)")
                try socket.send(Array(args[1].utf8))
            } catch {
                say(error.errnoName)
            }
            return 0
        },
        // send-messages FD SIZE…: send one message per SIZE, message I filled with
        // the byte I+1.
        "send-messages": { args in
            let socket = try adoptSocket(args[0])
            for (i, size) in args.dropFirst().enumerated() {
                try socket.send([UInt8](repeating: UInt8(truncatingIfNeeded: i + 1), count: Int(size)!))
            }
            return 0
        },
        // write-after-eof FD: with SIGPIPE at its default (deadly) disposition, wait
        // for end of file on socket FD, then write until it fails; exit with the
        // errno. A SIGPIPE death shows as a signal status instead.
        "write-after-eof": { args in
            let socket = try adoptSocket(args[0])
            signal(SIGPIPE, SIG_DFL)
            while try !socket.read(upTo: 64).isEmpty {}
            do {
                for _ in 0..<1000 { try socket.write(all: [1, 2, 3]) }
                return 0
            } catch let error as IPCError {
                return error.errno.rawValue
            }
        },
    ]

    private static func adoptSocket(_ fd: String) throws(IPCError) -> UnixSocket {
        try UnixSocket(adopting: OwnedDescriptor(inheritedNumber: CInt(fd)))
    }

    private static func kind(_ name: String) -> UnixSocket.Kind {
        switch name {
        case "seqpacket": return .seqPacket
        case "datagram": return .datagram
        default: return .stream
        }
    }
}
