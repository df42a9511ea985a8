@testable import Interprocess
import Synchronization
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The layout the test peer's placement commands use (PlacementCommands.swift).
struct PlacementTestLayout {
    var layout: SharedLayout
    var semaphore: SharedPlace<MappedSemaphore>
    var marker: SharedPlace<Atomic<UInt64>>
    var bytes: SharedPlace<SharedBytes>

    init(type: String = "placement-test", version: UInt32 = 1) throws(IPCError) {
        layout = try SharedLayout(type: type, version: version)
        semaphore = try layout.semaphore(value: 0)
        marker = try layout.atomic(UInt64.self)
        bytes = try layout.bytes(count: 100)
    }
}

#if arch(x86_64)
private let futexSyscall = 202
#else
private let futexSyscall = 98
#endif

@Suite("Objects placed in shared memory: one initialiser, checked headers (H5, Y2)")
struct PlacedMappingTests {
    @Test("a layout hands out aligned, disjoint places after the header and refuses bad requests")
    func layoutPlaces() throws {
        var layout = try SharedLayout(type: "places", version: 3)
        let flag = try layout.atomic(UInt8.self, initialValue: 5)
        let counter = try layout.atomic(UInt64.self, initialValue: 9)
        let semaphore = try layout.semaphore(value: 2)
        let page = try layout.bytes(count: 10, alignment: 4096)
        let tail = try layout.bytes(count: 3, alignment: 1)
        let ranges = [flag.range, counter.range, semaphore.range, page.range, tail.range]
        #expect(ranges.allSatisfy { $0.lowerBound >= PlacementHeader.size && $0.upperBound <= layout.size })
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound <= b.lowerBound) }
        #expect(counter.offset % 8 == 0 && semaphore.offset % MemoryLayout<sem_t>.alignment == 0 && page.offset % 4096 == 0)
        #expect(layout.size == tail.range.upperBound)

        // Created objects start with their values; byte regions keep the object's bytes.
        let placed = try PlacedMapping.create(layout, in: PosixSharedMemory.anonymous(size: layout.size).map())
        #expect(try placed.withAtomic(flag) { $0.load(ordering: .relaxed) } == 5)
        #expect(try placed.withAtomic(counter) { $0.load(ordering: .relaxed) } == 9)
        #expect(try placed.withSemaphore(semaphore) { try $0.value } == 2)
        try placed.write([1, 2, 3], to: tail)
        #expect(try placed.read(count: 2, from: tail, at: 1) == [2, 3])
        let outside = #expect(throws: IPCError.self) { try placed.write([1, 2], to: tail, at: 2) }
        #expect(outside?.errno == .outOfRange)
        let foreign = #expect(throws: IPCError.self) { try placed.write([1], to: SharedPlace<SharedBytes>(offset: tail.offset, size: tail.size, index: 0)) }
        #expect(foreign?.errno == .invalidArgument)

        for bad in [0, 3, 2 * MemoryMapping.pageSize] {
            #expect(throws: IPCError.self) { _ = try layout.bytes(count: 1, alignment: bad) }
        }
        #expect(throws: IPCError.self) { _ = try layout.bytes(count: 0) }
        #expect(throws: IPCError.self) { _ = try layout.bytes(count: .max) }
        #expect(throws: IPCError.self) { _ = try SharedLayout(type: "", version: 1) }
        #expect(throws: IPCError.self) { _ = try SharedLayout(type: String(repeating: "x", count: 65), version: 1) }
    }

    @Test("an opener waits for ready: it times out while a peer initialises, and sees the objects only once the peer lets go")
    func openerWaitsForReady() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.create(name, size: test.layout.size)

        let initialiser = try PeerSession("placed-create", [name, "placement-test", "1", "hold"])
        #expect(try initialiser.line() == "initialising")
        let early = #expect(throws: IPCError.self) {
            _ = try PlacedMapping.open(test.layout, in: memory.map(), until: .after(.milliseconds(300)))
        }
        #expect(early?.errno == .timedOut)
        #expect(early?.detail?.contains("pid \(initialiser.pid)") == true, "\(String(describing: early))")

        let opener = try PeerSession("placed-open", [name, "placement-test", "1", "30000"])
        #expect(waitUntilBlocked(pid: opener.pid, inSyscall: futexSyscall), "the opener never slept on the state word")
        try initialiser.send("go")
        #expect(try initialiser.line() == "ok \(initialiser.pid)")
        #expect(try opener.line() == "ok 7", "the opener saw the objects before the initialiser finished")
        #expect(try initialiser.finish() == .exited(0))
        #expect(try opener.finish() == .exited(0))

        let placed = try PlacedMapping.open(test.layout, in: memory.map(), until: .now)
        #expect(placed.initialiser == initialiser.pid)
    }

    @Test("an initialiser killed half-way is reported by pid to openers; create then takes the objects over")
    func crashedInitialiser() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.create(name, size: test.layout.size)

        let initialiser = try PeerSession("placed-create", [name, "placement-test", "1", "hold"])
        #expect(try initialiser.line() == "initialising")
        let pid = initialiser.pid
        #expect(kill(pid, SIGKILL) == 0)

        let dead = #expect(throws: IPCError.self) {
            _ = try PlacedMapping.open(test.layout, in: memory.map(), until: .after(.seconds(30)))
        }
        #expect(dead?.errno == .previousOwnerDied)
        #expect(dead?.detail?.contains("pid \(pid) died") == true, "\(String(describing: dead))")
        // Another process sees the same.
        #expect(try TestPeer.run(TestPeer.spawn("placed-open", name, "placement-test", "1", "30000")).output == "EOWNERDEAD")

        let placed = try PlacedMapping.create(test.layout, in: memory.map())
        #expect(placed.initialiser == getpid())
        try placed.withSemaphore(test.semaphore) { try $0.post() }
        #expect(try TestPeer.run(TestPeer.spawn("placed-open", name, "placement-test", "1", "0")).output == "ok 0")
    }

    @Test("an initialiser whose pid now belongs to a later process (another start time) counts as dead")
    func pidReuseDetected() throws {
        let me = ProcessIdentity.current
        #expect(me.startTime != 0 && me.pidNamespace != 0)
        #expect(me.liveness == .running)
        #expect(ProcessIdentity(pid: me.pid, startTime: me.startTime + 1, pidNamespace: me.pidNamespace).liveness == .gone)
        if case .unknown = ProcessIdentity(pid: me.pid, startTime: me.startTime, pidNamespace: me.pidNamespace + 1).liveness {} else {
            Issue.record("a pid of another PID namespace was judged")
        }

        // A header claimed by this very pid, recorded with another start time: the
        // claimant was an earlier process with the same pid, and it is gone.
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.anonymous(size: test.layout.size)
        let mapping = try memory.map()
        try mapping.writePlacementHeader(test.layout, initialiser: ProcessIdentity(pid: me.pid, startTime: me.startTime + 1, pidNamespace: me.pidNamespace))
        try mapping.store(UInt32(me.pid), at: PlacementHeader.stateOffset)
        let error = #expect(throws: IPCError.self) { _ = try PlacedMapping.open(test.layout, in: memory.map(), until: .after(.seconds(30))) }
        #expect(error?.errno == .previousOwnerDied)
        // The same header with this process's real start time is a live initialiser.
        try mapping.store(me.startTime, at: PlacementHeader.startTimeOffset)
        let busy = #expect(throws: IPCError.self) { _ = try PlacedMapping.create(test.layout, in: memory.map()) }
        #expect(busy?.errno == .fileExists)
    }

    @Test("an initialisation that throws leaves the object empty, for another create")
    func failedInitialisation() throws {
        struct Refused: Error {}
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.anonymous(size: test.layout.size)
        #expect(throws: Refused.self) { _ = try PlacedMapping.create(test.layout, in: memory.map()) { _ in throw Refused() } }
        #expect(try memory.map().load(UInt32.self, at: PlacementHeader.stateOffset) == 0)
        let placed = try PlacedMapping.create(test.layout, in: memory.map())
        #expect(placed.initialiser == getpid())
    }

    @Test("processes racing to create: exactly one initialises, the others get EEXIST")
    func oneInitialiser() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.create(name, size: test.layout.size)
        let racers = try (0..<4).map { _ in try PeerSession("placed-create", [name, "placement-test", "1", "barrier"]) }
        for racer in racers { #expect(try racer.line() == "waiting") }
        for racer in racers { try racer.send("go") }
        let outcomes = try racers.map { try $0.line() }
        let winners = outcomes.filter { $0.hasPrefix("ok ") }
        #expect(winners.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "EEXIST" }.count == racers.count - 1, "\(outcomes)")
        for racer in racers { #expect(try racer.finish() == .exited(0)) }

        let placed = try PlacedMapping.open(test.layout, in: memory.map(), until: .now)
        #expect(winners.first == "ok \(placed.initialiser)")
        #expect(try placed.withAtomic(test.marker) { $0.load(ordering: .relaxed) } == 7)
    }

    @Test("a wrong type, version, size or shape of layout is refused with its own error, in this process and another")
    func wrongLayoutRefused() throws {
        let name = TestObjects.sharedMemoryName()
        defer { TestObjects.remove(.sharedMemory(name)) }
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.create(name, size: test.layout.size + 4096)
        _ = try PlacedMapping.create(test.layout, in: memory.map())

        func refusal(_ layout: SharedLayout) -> IPCError? {
            #expect(throws: IPCError.self) { _ = try PlacedMapping.open(layout, in: memory.map(), until: .now) }
        }
        let wrongType = refusal(try PlacementTestLayout(type: "other-type").layout)
        #expect(wrongType?.errno == .protocolWrongTypeForSocket)
        #expect(wrongType?.detail == "holds a \"placement-test\", not a \"other-type\"")
        let wrongVersion = refusal(try PlacementTestLayout(version: 2).layout)
        #expect(wrongVersion?.errno == .protocolNotSupported)
        #expect(wrongVersion?.detail?.contains("version 1; this process expects version 2") == true)
        var bigger = try PlacementTestLayout()
        _ = try bigger.layout.bytes(count: 8)
        let wrongSize = refusal(bigger.layout)
        #expect(wrongSize?.errno == .invalidArgument)
        #expect(wrongSize?.detail?.contains("laid out for \(test.layout.size) bytes") == true)
        var reshaped = try SharedLayout(type: "placement-test", version: 1)
        _ = try reshaped.bytes(count: test.layout.size - PlacementHeader.size)
        let wrongShape = refusal(reshaped)
        #expect(wrongShape?.errno == .invalidArgument)
        #expect(wrongShape?.detail?.contains("other parts") == true)

        #expect(try TestPeer.run(TestPeer.spawn("placed-open", name, "other-type", "1", "0")).output == "EPROTOTYPE")
        #expect(try TestPeer.run(TestPeer.spawn("placed-open", name, "placement-test", "2", "0")).output == "EPROTONOSUPPORT")
    }

    @Test("a mapping smaller than the layout is refused before anything is touched")
    func tooSmallMapping() throws {
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.anonymous(size: test.layout.size - 1)
        let create = #expect(throws: IPCError.self) { _ = try PlacedMapping.create(test.layout, in: memory.map()) }
        #expect(create?.errno == .outOfRange)
        let open = #expect(throws: IPCError.self) { _ = try PlacedMapping.open(test.layout, in: memory.map(), until: .now) }
        #expect(open?.errno == .outOfRange)
        #expect(try memory.map().read(count: test.layout.size - 1, from: 0).allSatisfy { $0 == 0 })
    }

    @Test("an empty object that nobody creates times out the opener")
    func nobodyCreates() throws {
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.anonymous(size: test.layout.size)
        let error = #expect(throws: IPCError.self) { _ = try PlacedMapping.open(test.layout, in: memory.map(), until: .after(.milliseconds(50))) }
        #expect(error?.errno == .timedOut)
        #expect(error?.detail?.contains("nobody began") == true)
    }

    @Test("junk in the segment (random bytes, or a header with some fields right) is refused, never a crash or a hang")
    func junkRefused() throws {
        let test = try PlacementTestLayout()
        let memory = try PosixSharedMemory.anonymous(size: test.layout.size)
        var generator = SystemRandomNumberGenerator()
        let refusals: Set<Errno> = [.invalidArgument, .previousOwnerDied, .timedOut, .protocolWrongTypeForSocket, .protocolNotSupported, .fileExists]

        func expectRefused(_ bytes: [UInt8], _ what: String, in memory: borrowing PosixSharedMemory) throws {
            try memory.map().write(bytes, at: 0)
            let open = #expect(throws: IPCError.self, "open of \(what)") {
                _ = try PlacedMapping.open(test.layout, in: memory.map(), until: .after(.milliseconds(1)))
            }
            #expect(open.map { refusals.contains($0.errno) } == true, "\(what): \(String(describing: open))")
            let create = #expect(throws: IPCError.self, "create over \(what)") { _ = try PlacedMapping.create(test.layout, in: memory.map()) }
            #expect(create.map { refusals.contains($0.errno) } == true, "\(what): \(String(describing: create))")
        }

        for round in 0..<200 {
            var junk = (0..<test.layout.size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if junk[8..<12].allSatisfy({ $0 == 0 }) { junk[8] = 0xff }  // an all-zero state word is an empty object, not junk
            try expectRefused(junk, "random bytes #\(round)", in: memory)
        }

        // A valid header, then one field at a time made wrong.
        let good = try PosixSharedMemory.anonymous(size: test.layout.size)
        _ = try PlacedMapping.create(test.layout, in: good.map())
        let header = try good.map().read(count: test.layout.size, from: 0)
        func withField(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var copy = header
            copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return copy
        }
        try expectRefused(withField(PlacementHeader.magicOffset, [0x41]), "a wrong magic", in: memory)
        try expectRefused(withField(PlacementHeader.formatOffset, [9]), "another header format", in: memory)
        try expectRefused(withField(PlacementHeader.nameLengthOffset, [0xff, 0xff, 0xff, 0x7f]), "a huge name length", in: memory)
        try expectRefused(withField(PlacementHeader.nameLengthOffset, [0, 0, 0, 0]), "an empty name", in: memory)
        try expectRefused(withField(PlacementHeader.nameOffset, [0xff, 0xfe, 0x0a]), "a name of invalid UTF-8", in: memory)
        try expectRefused(withField(PlacementHeader.sizeOffset, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "a huge size", in: memory)
        try expectRefused(withField(PlacementHeader.stateOffset, [0x01, 0x00, 0x00, 0x40]), "a state past the pid range", in: memory)
        // "initialising" by a pid that cannot exist: the initialiser is dead, and
        // create does not take over, since the claimant never identified itself.
        try expectRefused(withField(PlacementHeader.stateOffset, [0xfe, 0xff, 0xff, 0x3f]), "a claim by a pid that never ran", in: memory)
        let name = #expect(throws: IPCError.self) {
            try good.map().write(withField(PlacementHeader.nameOffset, [0xff, 0xfe, 0x0a]), at: 0)
            _ = try PlacedMapping.open(test.layout, in: good.map(), until: .now)
        }
        #expect(name?.detail?.hasPrefix("holds a \"\\xff\\xfe\\x0a") == true, "\(String(describing: name))")
    }
}
