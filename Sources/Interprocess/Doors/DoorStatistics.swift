import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A door's public face for `ipc ls` (SPEC R6, L2): a small memfd named
/// `ipc-door:ID` that its server keeps open and mapped, holding the server's pid,
/// the door's path and procedure name, and its clients and calls served. The
/// inventory finds it in /proc/PID/fd and reads it (`pread`), so a door is listed
/// while its server lives and leaves nothing behind when it dies, even by SIGKILL.
/// Whoever reads it validates it: any process can make a memfd with that name.
final class DoorStatistics: @unchecked Sendable {
    static let namePrefix = "ipc-door:"
    static let magic: UInt64 = 0x3130_726F_6F64_6370  // "pcdoor01", little-endian
    static let size = 8192
    static let pathOffset = 64, pathCapacity = 4096
    static let procedureOffset = 4160, procedureCapacity = 256

    // Offsets in the memfd: magic 0, pid 8, revoked 12, clients 16, calls 24,
    // identifier 32, path length 40, procedure length 44.
    private let base: UnsafeMutableRawPointer
    private let descriptor: CInt

    init(identifier: UInt64) throws(IPCError) {
        let fd = (DoorStatistics.namePrefix + String(identifier)).withCString { system_memfd_create($0, cipc_mfd_cloexec()) }
        if fd < 0 { throw IPCError.last("memfd_create", object: "door statistics") }
        guard system_ftruncate(fd, off_t(DoorStatistics.size)) == 0,
              let address = system_mmap(nil, DoorStatistics.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
              address != MAP_FAILED else {
            let error = IPCError.last("mmap", object: "door statistics")
            _ = system_close(fd)
            throw error
        }
        descriptor = fd
        base = address
        base.storeBytes(of: DoorStatistics.magic, toByteOffset: 0, as: UInt64.self)
        base.storeBytes(of: UInt32(bitPattern: getpid()), toByteOffset: 8, as: UInt32.self)
        base.storeBytes(of: identifier, toByteOffset: 32, as: UInt64.self)
    }

    deinit { retire() }

    /// After `close` (every thread of the door has ended): the memfd goes, so
    /// `ipc ls` no longer lists the door; `calls` keeps its last value. The lock
    /// keeps a reader of `calls` (`Door.info` on another thread) and the rare writers
    /// (path, revoked) off the unmapping.
    private let finalCalls = Mutex<UInt64?>(nil)

    func retire() {
        finalCalls.withSanitizedLock { final in
            guard final == nil else { return }
            final = word(24, UInt64.self).pointee.load(ordering: .relaxed)
            _ = system_munmap(base, DoorStatistics.size)
            _ = system_close(descriptor)
        }
    }

    private func word<T: AtomicRepresentable>(_ offset: Int, _ type: T.Type) -> UnsafeMutablePointer<Atomic<T>> {
        (base + offset).assumingMemoryBound(to: Atomic<T>.self)
    }

    func setPath(_ path: String?) {
        setText(path ?? "", at: DoorStatistics.pathOffset, capacity: DoorStatistics.pathCapacity, lengthAt: 40)
    }
    func setProcedure(_ name: String) { setText(name, at: DoorStatistics.procedureOffset, capacity: DoorStatistics.procedureCapacity, lengthAt: 44) }

    private func setText(_ text: String, at offset: Int, capacity: Int, lengthAt: Int) {
        finalCalls.withSanitizedLock { final in
            if final == nil { write(text, at: offset, capacity: capacity, lengthAt: lengthAt) }
        }
    }

    private func write(_ text: String, at offset: Int, capacity: Int, lengthAt: Int) {
        let bytes = Array(text.utf8.prefix(capacity))
        word(lengthAt, UInt32.self).pointee.store(0, ordering: .releasing)
        bytes.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        word(lengthAt, UInt32.self).pointee.store(UInt32(bytes.count), ordering: .releasing)
    }

    // Only the door's threads count and set these, all ended before `retire`.
    func setClients(_ count: Int) { word(16, UInt64.self).pointee.store(UInt64(count), ordering: .relaxed) }
    func callServed() { word(24, UInt64.self).pointee.wrappingAdd(1, ordering: .relaxed) }
    func setRevoked() {
        finalCalls.withSanitizedLock { final in
            if final == nil { word(12, UInt32.self).pointee.store(1, ordering: .relaxed) }
        }
    }
    var calls: UInt64 {
        finalCalls.withSanitizedLock { final in final ?? word(24, UInt64.self).pointee.load(ordering: .relaxed) }
    }

    /// What an inventory read from such a memfd: nil unless it is one (magic, and
    /// every length within its field).
    struct Snapshot: Sendable, Hashable {
        var pid: pid_t
        var identifier: UInt64
        var path: String
        var procedure: String
        var clients: UInt64
        var calls: UInt64
        var isRevoked: Bool

        init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count >= DoorStatistics.size,
                  bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self) == DoorStatistics.magic else { return nil }
            let pathLength = Int(bytes.loadUnaligned(fromByteOffset: 40, as: UInt32.self))
            let procedureLength = Int(bytes.loadUnaligned(fromByteOffset: 44, as: UInt32.self))
            guard pathLength <= DoorStatistics.pathCapacity, procedureLength <= DoorStatistics.procedureCapacity else { return nil }
            pid = pid_t(bitPattern: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            isRevoked = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self) != 0
            clients = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            calls = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            identifier = bytes.loadUnaligned(fromByteOffset: 32, as: UInt64.self)
            path = String(decoding: bytes[DoorStatistics.pathOffset..<DoorStatistics.pathOffset + pathLength], as: UTF8.self)
            procedure = String(decoding: bytes[DoorStatistics.procedureOffset..<DoorStatistics.procedureOffset + procedureLength], as: UTF8.self)
        }
    }
}
