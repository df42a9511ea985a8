@testable import Interprocess
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Doors in `IPCInventory` (SPEC R6, L2): found by their statistics memfd, with
/// their server, path, procedure, clients and calls served.
@Suite("IPC inventory: doors")
struct DoorInventoryTests {
    private func listed(_ door: Door) -> IPCInventory.Entry? {
        IPCInventory.snapshot(kinds: [.door]).entries.first { $0.door?.serverPid == getpid() && $0.door?.identifier == door.info.identifier }
    }

    @Test("a door served here appears with this pid, its path and procedure; its clients and calls as they change; revoked; gone with its server object")
    func servedDoor() throws {
        let path = TestObjects.socketPath()
        defer { TestObjects.remove(.file(path)) }
        var identifier: UInt64 = 0
        do {
            let door = try Door(name: "inventoried") { call in try call.reply(call.argumentBytes) }
            defer { door.close() }
            identifier = door.info.identifier

            let unattached = try #require(listed(door), "listed before it is attached")
            #expect(unattached.kind == .door && unattached.path == nil && unattached.door?.procedure == "inventoried")
            #expect(unattached.door?.clients == 0 && unattached.door?.callsServed == 0 && unattached.door?.isRevoked == false)

            try door.attach(to: path)
            let attached = try #require(listed(door))
            #expect(attached.path == Array(path.string.utf8))
            #expect(attached.creatorPID == getpid() && attached.ownerUID == geteuid())
            #expect(attached.mode == [.ownerRead, .ownerWrite])

            var client = try DoorClient(path: path)
            #expect(eventually { listed(door)?.door?.clients == 1 })
            #expect(listed(door)?.users == 1)
            _ = try client.call(Array("one".utf8))
            _ = try client.call(Array("two".utf8))
            #expect(eventually { listed(door)?.door?.callsServed == 2 })
            #expect(listed(door)?.count == 2)

            door.revoke()
            #expect(listed(door)?.door?.isRevoked == true)
            door.detach()
            #expect(listed(door)?.path == nil, "detached: no path")
            _ = consume client
        }
        // The statistics memfd lives as long as the door's server object, not until close().
        #expect(!IPCInventory.snapshot(kinds: [.door]).entries.contains { $0.door?.serverPid == getpid() && $0.door?.identifier == identifier })
    }

    @Test("a memfd with a door's name is listed only when it holds a door's statistics")
    func impostors() throws {
        // A door's layout with identifier 424242: once with a wrong magic, once with a path longer than its field.
        for (magic, pathLength) in [(UInt64(0x1234), UInt32(4)), (DoorStatistics.magic, UInt32(DoorStatistics.pathCapacity + 1))] {
            let fake = try PosixSharedMemory.anonymous(size: DoorStatistics.size, label: "ipc-door:424242")
            var header = [UInt8](repeating: 0, count: 64)
            header.withUnsafeMutableBytes { bytes in
                bytes.storeBytes(of: magic, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: UInt32(bitPattern: getpid()), toByteOffset: 8, as: UInt32.self)
                bytes.storeBytes(of: UInt64(424242), toByteOffset: 32, as: UInt64.self)
                bytes.storeBytes(of: pathLength, toByteOffset: 40, as: UInt32.self)
            }
            #expect(pwrite(fake.descriptor.rawValue, header, header.count, 0) == header.count)
            #expect(!IPCInventory.snapshot(kinds: [.door]).entries.contains { $0.door?.identifier == 424242 })
        }
        // The same with the right magic and lengths is listed: the check above can fail.
        let real = try PosixSharedMemory.anonymous(size: DoorStatistics.size, label: "ipc-door:424242")
        var header = [UInt8](repeating: 0, count: 64)
        header.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: DoorStatistics.magic, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: UInt32(bitPattern: getpid()), toByteOffset: 8, as: UInt32.self)
            bytes.storeBytes(of: UInt64(424242), toByteOffset: 32, as: UInt64.self)
        }
        #expect(pwrite(real.descriptor.rawValue, header, header.count, 0) == header.count)
        #expect(IPCInventory.snapshot(kinds: [.door]).entries.contains { $0.door?.identifier == 424242 && $0.door?.serverPid == getpid() })
    }
}
