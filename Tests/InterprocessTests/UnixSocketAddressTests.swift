import Interprocess
import SystemPackage
import Testing

@Suite("Unix socket addresses (S7)")
struct UnixSocketAddressTests {
    @Test("paths are checked against sun_path before any system call")
    func pathLimits() throws {
        let longest = FilePath("/" + String(repeating: "a", count: UnixSocketAddress.maxPathLength - 1))
        #expect(try UnixSocketAddress(path: longest).path == longest)
        let tooLong = FilePath("/" + String(repeating: "a", count: UnixSocketAddress.maxPathLength))
        let error = #expect(throws: IPCError.self) { _ = try UnixSocketAddress(path: tooLong) }
        #expect(error?.errno == .fileNameTooLong)
        #expect(error?.detail?.contains("at most 107") == true)
        let empty = #expect(throws: IPCError.self) { _ = try UnixSocketAddress(path: "") }
        #expect(empty?.errno == .invalidArgument)
    }

    @Test("abstract names and unnamed addresses describe themselves")
    func forms() throws {
        let abstract = try UnixSocketAddress(abstractName: "svc")
        #expect(abstract.abstractName == Array("svc".utf8))
        #expect(abstract.path == nil)
        #expect(abstract.description == "@svc")
        #expect(UnixSocketAddress.unnamed.isUnnamed)
        #expect(UnixSocketAddress.unnamed.description == "(unnamed)")
        #expect(try UnixSocketAddress(path: "/tmp/x.sock").description == "/tmp/x.sock")
        let tooLong = #expect(throws: IPCError.self) {
            _ = try UnixSocketAddress(abstractName: String(repeating: "n", count: 108))
        }
        #expect(tooLong?.errno == .fileNameTooLong)
    }

    @Test("a pair's ends are unnamed; a bound socket reports its path")
    func decoding() throws {
        let pair = try UnixSocket.pair(.stream)
        #expect(try pair.first.localAddress.isUnnamed)
        #expect(try pair.first.peerAddress.isUnnamed)
        let path = TestObjects.socketPath()
        let bound = try UnixSocket.bind(to: path, options: .init(removeOnClose: true))
        #expect(try bound.localAddress == UnixSocketAddress(path: path))
    }
}
