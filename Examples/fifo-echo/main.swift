// fifo-echo: the FIFO client–server of SPEC S5/X3, as a program.
//
//   fifo-echo serve PATH        serve on the well-known FIFO PATH (Ctrl-C to stop)
//   fifo-echo call PATH TEXT    send TEXT, print the reply: TEXT in upper case
import Interprocess

#if canImport(Glibc)
import Glibc  // write, fflush and exit: the C library itself, not this one's API
#endif

let arguments = Array(CommandLine.arguments.dropFirst())

func fail(_ message: String) -> Never {
    var bytes = Array("fifo-echo: \(message)\n".utf8)
    _ = write(2, &bytes, bytes.count)
    exit(1)
}

func uppercased(_ bytes: [UInt8]) -> [UInt8] {
    bytes.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
}

switch (arguments.first, arguments.count) {
case ("serve", 2):
    do {
        let server = try FIFOServer(path: FilePath(arguments[1]))
        print("serving on \(arguments[1])")
        fflush(nil)
        try await server.serve { request in uppercased(request.payload) }
    } catch {
        fail("\(error)")
    }
case ("call", 3):
    do {
        let reply = try FIFOClient.call(FilePath(arguments[1]), Array(arguments[2].utf8), until: .after(.seconds(5)))
        print(String(decoding: reply, as: UTF8.self))
    } catch {
        fail("\(error)")
    }
default:
    fail("usage: fifo-echo serve PATH | fifo-echo call PATH TEXT")
}
