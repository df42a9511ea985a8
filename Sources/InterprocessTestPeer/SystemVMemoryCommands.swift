import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for System V shared memory. Keys are written as `IPCKey(parsing:)`
// reads them (0x5e001234), identifiers in decimal. Commands that report an outcome
// print one word: "ok", or the errno name of the IPCError.

extension PeerCommands {
    static let systemVMemory: [String: PeerCommand] = [
        // sysv-shm-write KEY OFFSET TEXT: open the segment by key, attach, write TEXT at OFFSET.
        "sysv-shm-write": { args in
            let attachment = try SystemVSharedMemory.open(key: IPCKey(parsing: args[0])).attach()
            try attachment.mapping.write(Array(args[2].utf8), at: Int(args[1])!)
            return 0
        },
        // sysv-shm-read KEY OFFSET COUNT: open by key, attach read-only, print COUNT bytes from OFFSET.
        "sysv-shm-read": { args in
            let attachment = try SystemVSharedMemory.open(key: IPCKey(parsing: args[0])).attach(readOnly: true)
            let bytes = try attachment.mapping.read(count: Int(args[2])!, from: Int(args[1])!)
            print(String(decoding: bytes, as: UTF8.self))
            return 0
        },
        // sysv-shm-create-and-exit KEY TEXT: create a 4096-byte segment holding TEXT
        // and exit without removing it; print its identifier.
        "sysv-shm-create-and-exit": { args in
            let segment = try SystemVSharedMemory.create(key: IPCKey(parsing: args[0]), size: 4096)
            try segment.attach().mapping.write(Array(args[1].utf8), at: 0)
            print(segment.id)
            return 0
        },
        // sysv-shm-attach-status ID ro|rw: attach by identifier; print ok or the errno name.
        "sysv-shm-attach-status": { args in
            reportOutcome { () throws(IPCError) in
                _ = try SystemVSharedMemory(id: Int32(args[0])!).attach(readOnly: args[1] == "ro")
            }
        },
        // sysv-shm-session ID [ro]: attach by identifier, print "attached", then
        // obey stdin lines, answering each:
        //   write OFFSET TEXT → ok or errno name;  read OFFSET COUNT → the text;
        //   detach → "detached" (then only waits for end of file);
        //   exit → leaves at once with _exit(0), still attached.
        // At end of file the attachment is detached as the command returns.
        "sysv-shm-session": { args in
            var attachment: SystemVSharedMemory.Attachment? =
                try SystemVSharedMemory(id: Int32(args[0])!).attach(readOnly: args.count > 1 && args[1] == "ro")
            reply("attached")
            while let line = nextLine() {
                let words = line.split(separator: " ", maxSplits: 2).map(String.init)
                switch words.first {
                case "write":
                    guard let current = attachment.take() else { reply("EINVAL"); continue }
                    do throws(IPCError) {
                        try current.mapping.write(Array(words[2].utf8), at: Int(words[1])!)
                        reply("ok")
                    } catch {
                        reply(error.errnoName)
                    }
                    attachment = consume current
                case "read":
                    guard let current = attachment.take() else { reply("EINVAL"); continue }
                    let bytes = try current.mapping.read(count: Int(words[2])!, from: Int(words[1])!)
                    reply(String(decoding: bytes, as: UTF8.self))
                    attachment = consume current
                case "detach":
                    try attachment.take()?.detach()
                    reply("detached")
                case "exit":
                    _exit(0)
                default:
                    return 64
                }
            }
            return 0
        },
    ]
}

/// Prints `text` and a newline at once (stdout is a pipe, so it is buffered).
private func reply(_ text: String) {
    print(text)
    fflush(nil)
}

/// One line of stdin without its newline; nil at end of file.
private func nextLine() -> String? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while true {
        let n = read(0, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
        if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
        line.append(byte)
    }
}
