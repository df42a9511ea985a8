@testable import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A `door-serve` peer: the test door attached at a fresh path in /tmp; the path
/// is removed at the end (the server removes it when it closes; a killed one
/// leaves it, so the fixture removes it too).
final class DoorTestServer {
    let path: String
    let session: PeerSession
    let pid: pid_t

    init(mode: String = "600", policy: String = "any") throws {
        path = TestObjects.temporaryPath("door", suffix: ".door")
        session = try PeerSession("door-serve", [path, mode, policy])
        let ready = try session.line()
        guard ready.hasPrefix("ready "), let pid = pid_t(ready.dropFirst(6)) else {
            throw IPCError(.protocolError, operation: "door-serve", detail: "the server said \(ready)")
        }
        self.pid = pid
    }

    deinit {
        _ = try? session.kill()
        unlink(path)
    }

    /// Sends a stdin command and returns the server's answer line.
    func command(_ line: String) throws -> String {
        try session.send(line)
        return try session.line()
    }
}
