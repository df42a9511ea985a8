import CInterprocess
import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension PeerCommands {
    static let streams: [String: PeerCommand] = [
        // write-records FD ID COUNT: COUNT atomic writes of PIPE_BUF bytes, each
        // filled with the byte ID.
        "write-records": { args in
            let writer = try PipeWriter(adopting: OwnedDescriptor(inheritedNumber: CInt(args[0])))
            let record = [UInt8](repeating: UInt8(args[1])!, count: Pipe.atomicWriteLimit)
            for _ in 0..<Int(args[2])! { try writer.write(atomically: record) }
            return 0
        },
        // status-flags FD: print the file status flags (F_GETFL) of FD.
        "status-flags": { args in
            print(cipc_fcntl_void(CInt(args[0]), F_GETFL))
            return 0
        },
        // fifo-open PATH read|write [nonblock]: open the FIFO; exit 0, or the errno.
        "fifo-open": { args in
            let nonBlocking = args.count > 2 && args[2] == "nonblock"
            do {
                if args[1] == "read" {
                    _ = try FIFO.openForReading(FilePath(args[0]), nonBlocking: nonBlocking)
                } else {
                    _ = try FIFO.openForWriting(FilePath(args[0]), nonBlocking: nonBlocking)
                }
                return 0
            } catch let error as IPCError {
                return error.errno.rawValue
            }
        },
        // fifo-read PATH: print "ready", open the FIFO for reading (blocking), then
        // print everything read until end of file.
        "fifo-read": { args in
            print("ready")
            fflush(nil)
            let reader = try FIFO.openForReading(FilePath(args[0]))
            print(String(decoding: try reader.readToEnd(), as: UTF8.self))
            return 0
        },
        // fifo-write PATH TEXT: open the FIFO for writing (blocking) and write TEXT.
        "fifo-write": { args in
            let writer = try FIFO.openForWriting(FilePath(args[0]))
            try writer.write(all: Array(args[1].utf8))
            return 0
        },
        // fifo-call SERVER TEXT: one FIFOClient call; print the reply.
        "fifo-call": { args in
            let reply = try FIFOClient.call(FilePath(args[0]), Array(args[1].utf8), until: .after(.seconds(60)))
            print(String(decoding: reply, as: UTF8.self))
            return 0
        },
        // fifo-rogue SERVER: make a reply FIFO and send a request, print "sent", and
        // never open the reply FIFO; remove it and exit at end of file on stdin.
        "fifo-rogue": { args in
            let server = FilePath(args[0])
            let replyPath = FIFOServer.replyPath(server: server, pid: getpid())
            try FIFO.create(at: replyPath)
            defer { try? FIFO.unlink(replyPath) }
            let writer = try FIFO.openForWriting(server, nonBlocking: true)
            try writer.write(atomically: Array("\(getpid()) rogue\n".utf8))
            print("sent")
            fflush(nil)
            var byte: UInt8 = 0
            while read(0, &byte, 1) > 0 {}
            return 0
        },
        // fifo-send-hex SERVER HEX: write raw bytes to the FIFO (garbage requests).
        "fifo-send-hex": { args in
            let writer = try FIFO.openForWriting(FilePath(args[0]), nonBlocking: true)
            try writer.write(all: hexBytes(args[1]))
            return 0
        },
        // write-hex HEX: write raw bytes to stdout.
        "write-hex": { args in
            let out = OwnedDescriptor(adopting: FileDescriptor(rawValue: 1))
            try out.write(all: hexBytes(args[0]))
            _ = out.release()
            return 0
        },
        // write-frames delimited|length|whole RECORD…: write the records to stdout
        // with the library's framing writers.
        "write-frames": { args in
            let out = try PipeWriter(adopting: OwnedDescriptor(inheritedNumber: 1))
            let records = args.dropFirst().map { Array($0.utf8) }
            switch args[0] {
            case "delimited":
                let writer = try DelimitedRecordWriter(out)
                for record in records { try writer.write(record) }
            case "length":
                let writer = try LengthPrefixedRecordWriter(out)
                for record in records { try writer.write(record) }
            default:
                try WholeStreamRecord.write(records.flatMap { $0 }, to: out)
            }
            return 0
        },
    ]
}

/// "0a ff 31" or "0aff31" → bytes.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { $0 != " " })
    return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}
