@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Descriptor passing over Unix sockets, SCM_RIGHTS (S7)", .timeLimit(.minutes(2)))
struct DescriptorPassingTests {
    @Test("a peer writes through a pipe end it received over the socket",
          arguments: [UnixSocket.Kind.stream, .seqPacket, .datagram])
    func sendToPeer(kind: UnixSocket.Kind) throws {
        let pair = try UnixSocket.pair(kind)
        let pipe = try Pipe()
        // The peer gets only the socket: the pipe can reach it only over SCM_RIGHTS.
        var spawn = TestPeer.spawn("write-through-received", "3", "through the socket")
        try spawn.inherit(pair.second.descriptor, as: 3)
        var child = try spawn.start()
        try pair.second.close()

        try pair.first.send(Array("fd".utf8), descriptor: pipe.writer.descriptor)
        #expect(try child.wait() == .exited(0))
        // We still own our write end (sending borrows): close it to see end of file.
        try pipe.writer.close()
        #expect(String(decoding: try pipe.reader.readToEnd(), as: UTF8.self) == "through the socket")
    }

    @Test("descriptors a peer sends arrive open, close-on-exec and in order",
          arguments: [UnixSocket.Kind.stream, .seqPacket, .datagram])
    func receiveFromPeer(kind: UnixSocket.Kind) throws {
        let pair = try UnixSocket.pair(kind)
        var spawn = TestPeer.spawn("send-pipe-readers", "3", "3")
        try spawn.inherit(pair.second.descriptor, as: 3)
        var child = try spawn.start()
        try pair.second.close()

        var buffer = [UInt8](repeating: 0, count: 16)
        var message = try pair.first.receive(into: &buffer, descriptorLimit: 8, until: socketTestDeadline())
        #expect(try child.wait() == .exited(0))  // the sender's copies are gone
        #expect(String(decoding: buffer[..<message.count], as: UTF8.self) == "fds")
        #expect(message.descriptors.count == 3)
        for i in 0..<3 {
            guard let file = message.descriptors.take(at: i) else {
                Issue.record("descriptor \(i) missing")
                continue
            }
            #expect(try file.isCloseOnExec)
            #expect(String(decoding: try file.readToEnd(), as: UTF8.self) == "pipe \(i)")
        }
        let firstTaken = !message.descriptors.hasDescriptor(at: 0)
        #expect(firstTaken)
        #expect(message.descriptors.remaining == 0)
    }

    @Test("more descriptors than the receiver has room for is ENOBUFS, and all are closed")
    func controlTruncation() async {
        await #expect(processExitsWith: .success) {
          let pipe = try Pipe()
          var three = OwnedDescriptors()
          for _ in 0..<3 { three.append(try pipe.reader.descriptor.duplicate()) }
          let before = openDescriptorNumbers()
          for kind in [UnixSocket.Kind.stream, .seqPacket, .datagram] {
            let pair = try UnixSocket.pair(kind)
            try pair.first.send(Array("x".utf8), descriptors: three)
            var buffer = [UInt8](repeating: 0, count: 16)
            do {
                _ = try pair.second.receive(into: &buffer, descriptorLimit: 1)
                exit(2)
            } catch let error as IPCError {
                if error.errno != .noBufferSpace { exit(3) }
            }
            // A receive that takes no descriptors on a message socket reports them too.
            if kind != .stream {
                try pair.first.send([], descriptors: three)
                do {
                    _ = try buffer.withUnsafeMutableBytes { try pair.second.receive(into: $0) }
                    exit(4)
                } catch let error as IPCError {
                    if error.errno != .noBufferSpace { exit(5) }
                }
            }
          }
          exit(descriptorsOpened(since: before).isEmpty ? 0 : 1)
        }
    }

    @Test("descriptors not taken are closed with the message")
    func untakenAreClosed() async {
        await #expect(processExitsWith: .success) {
            let pair = try UnixSocket.pair(.seqPacket)
            let pipe = try Pipe()
            var many = OwnedDescriptors()
            for _ in 0..<253 { many.append(try pipe.reader.descriptor.duplicate()) }
            let before = openDescriptorNumbers()
            try pair.first.send([], descriptors: many)
            var buffer = [UInt8](repeating: 0, count: 16)
            var message = try pair.second.receive(into: &buffer, descriptorLimit: 253)
            let received = Set((0..<message.descriptors.count).compactMap { message.descriptors.withDescriptor(at: $0) { $0.rawValue } })
            // Numbers are checked by kind, not against `before`: the harness may close
            // a descriptor of its own and the kernel may reuse its number here.
            if received.count != 253 || !received.allSatisfy(isLibraryKind) { exit(2) }
            guard let kept = message.descriptors.take(at: 7) else { exit(3) }
            drop(message)
            if Set(received.filter(isLibraryKind)) != [kept.rawValue] { exit(4) }
            try kept.close()
            exit(descriptorsOpened(since: before).isEmpty ? 0 : 1)
        }
    }

    @Test("bad sends are refused before any system call")
    func validation() throws {
        let stream = try UnixSocket.pair(.stream)
        let pipe = try Pipe()
        try FaultInjection.inject(EIO, into: "sendmsg") { () throws(IPCError) in
            var tooMany = OwnedDescriptors()
            for _ in 0..<254 { tooMany.append(try pipe.reader.descriptor.duplicate()) }
            let error1 = #expect(throws: IPCError.self) { try stream.first.send([1], descriptors: tooMany) }
            #expect(error1?.errno == .invalidArgument)
            let error2 = #expect(throws: IPCError.self) { try stream.first.send([], descriptor: pipe.reader.descriptor) }
            #expect(error2?.errno == .invalidArgument)
            let invalid = OwnedDescriptor(adopting: FileDescriptor(rawValue: -1))
            let error3 = #expect(throws: IPCError.self) { try stream.first.send([1], descriptor: invalid) }
            #expect(error3?.errno == .badFileDescriptor)
        }
        var buffer = [UInt8](repeating: 0, count: 4)
        let error4 = #expect(throws: IPCError.self) {
            _ = try stream.second.receive(into: &buffer, descriptorLimit: 254)
        }
        #expect(error4?.errno == .invalidArgument)
    }

    @Test("a datagram carries descriptors to an address, with its sender")
    func datagramToAddress() throws {
        let path = TestObjects.socketPath()
        let receiver = try UnixSocket.bind(to: path, options: .init(removeOnClose: true))
        let sender = try UnixSocket(.datagram)
        let pipe = try Pipe()
        try sender.send(Array("p".utf8), descriptor: pipe.writer.descriptor, to: receiver.localAddress)
        var buffer = [UInt8](repeating: 0, count: 4)
        var message = try receiver.receive(into: &buffer, descriptorLimit: 2, until: socketTestDeadline())
        #expect(message.sender.isUnnamed)
        guard let writer = message.descriptors.takeNext() else { Issue.record("no descriptor"); return }
        try writer.write(all: Array("via dgram".utf8))
        try writer.close()
        try pipe.writer.close()
        #expect(String(decoding: try pipe.reader.readToEnd(), as: UTF8.self) == "via dgram")
    }
}
