import Interprocess
import SystemPackage
import Testing

@Suite("The error type")
struct IPCErrorTests {
    @Test("descriptions name the call, the object, the reason and the errno")
    func description() {
        let error = IPCError(.fileExists, operation: "mkfifo", object: "\"/tmp/x\"")
        #expect(error.description == "mkfifo(\"/tmp/x\"): file exists (EEXIST)")
        #expect(error.errnoName == "EEXIST")

        let detailed = IPCError(.messageTooLong, operation: "write", object: "fd 5", detail: "too big")
        #expect(detailed.description == "write(fd 5): message too long (EMSGSIZE): too big")

        #expect(IPCError(.resourceTemporarilyUnavailable, operation: "read").isWouldBlock)
        #expect(IPCError(.timedOut, operation: "read").isTimeout)
    }
}
