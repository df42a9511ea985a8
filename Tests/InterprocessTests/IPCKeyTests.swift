import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("System V keys (V1)")
struct IPCKeyTests {
    @Test("keys parse from decimal, 0x hex and 'private', and print as ipcs does")
    func parsing() throws {
        #expect(try IPCKey(parsing: "0x1234") == IPCKey(0x1234))
        #expect(try IPCKey(parsing: "4660") == IPCKey(0x1234))
        #expect(try IPCKey(parsing: "private") == .private)
        #expect(try IPCKey(parsing: "0xffffffff").rawValue == -1)
        #expect(try IPCKey(parsing: "-1").rawValue == -1)
        #expect(IPCKey(0x1234).description == "0x00001234")
        #expect(IPCKey(rawValue: -1).description == "0xffffffff")
        #expect(IPCKey.private.isPrivate)
        #expect(try IPCKey(parsing: "4294967295").rawValue == -1, "decimal up to 0xffffffff, as ipcrm takes it")
        #expect(try IPCKey(parsing: "-2147483648").rawValue == Int32.min)
        #expect(try IPCKey(parsing: "IPC_PRIVATE") == .private)
        for bad in ["", "0x", "12ab", "0x1_0000_0000", "0x100000000", "4294967296", "-2147483649", "key"] {
            let error = #expect(throws: IPCError.self, "\(bad)") { _ = try IPCKey(parsing: bad) }
            #expect(error?.errno == .invalidArgument)
        }
    }

    @Test("0 is refused (write 'private' for IPC_PRIVATE) and a leading 0 is refused as ambiguous (octal in C)")
    func surprisingKeys() throws {
        for zero in ["0", "-0", "0x0", "0x00000000", "00"] {
            let error = #expect(throws: IPCError.self, "\(zero)") { _ = try IPCKey(parsing: zero) }
            #expect(error?.errno == .invalidArgument)
            #expect(error?.detail?.contains("private") == true || error?.detail?.contains("leading 0") == true, "\(zero): \(String(describing: error))")
        }
        for octalLooking in ["012", "-012", "0777"] {
            let error = #expect(throws: IPCError.self, "\(octalLooking)") { _ = try IPCKey(parsing: octalLooking) }
            #expect(error?.detail?.contains("leading 0 is ambiguous") == true, "\(String(describing: error))")
        }
        #expect(try IPCKey(parsing: "0x012") == IPCKey(0x12), "hex may have leading zeros: ipcs prints 0x00001234")
    }

    @Test("ftok: the same file and project give the same key; only the id's low 8 bits count")
    func ftokKeys() throws {
        let path = FilePath(TestObjects.temporaryPath("ipct-ftok"))
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .exclusiveCreate], permissions: .ownerReadWrite)
        try fd.close()
        defer { TestObjects.remove(.file(path.string)) }

        let one = try IPCKey(path: path, projectID: 1)
        #expect(try IPCKey(path: path, projectID: 1) == one)
        #expect(try IPCKey(path: path, projectID: 257) == one, "257 & 0xff == 1")
        #expect(try IPCKey(path: path, projectID: 2) != one)
        #expect(!one.isPrivate)

        let zero = #expect(throws: IPCError.self) { _ = try IPCKey(path: path, projectID: 256) }
        #expect(zero?.errno == .invalidArgument)
        #expect(zero?.detail?.contains("low 8 bits") == true)

        let missing = #expect(throws: IPCError.self) { _ = try IPCKey(path: FilePath(TestObjects.temporaryPath("ipct-none")), projectID: 1) }
        #expect(missing?.errno == .noSuchFileOrDirectory)
        #expect(missing?.operation == "ftok")
    }
}
