import CInterprocess
import SystemPackage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A message channel in shared memory (SPEC M5): rings of variable-length
/// messages that producers write in place and one receiver reads in place, with no
/// system call on the hot path. One producer by default; `producers: N` gives each
/// of up to N producers its own ring, which the receiver takes in turn.
///
/// ```swift
/// // one process
/// let channel = try SharedMemoryChannel.create("/orders", capacity: 1 << 16, maximumMessageSize: 1024)
/// var sender = try channel.sender()
/// try sender.send(Array("hello".utf8))
/// // another
/// var receiver = try SharedMemoryChannel.open("/orders").receiver()
/// let message = try receiver.receive()        // waits: spins briefly, then sleeps
/// ```
///
/// The channel is a placed object (`SharedLayout` type `ipc.channel`, version 1;
/// see `ChannelLayout`) in POSIX shared memory: named (`create`, `open`,
/// `openOrCreate`, `unlink`) or anonymous over a memfd sealed against resizing
/// (`anonymous`), whose `descriptor` a child inherits (`Spawn.inherit`) and
/// adopts (`init(adopting:)`). The capacity, maximum message size, number of
/// producers and policy when full are fixed at creation, recorded in the memory
/// and checked by every opener.
///
/// A channel value becomes one end: `sender()` or `receiver()`, each recorded in
/// the memory (pid, start time, PID namespace) so that the other end can tell when
/// it died. Nothing read from the shared memory is trusted: see Channels/README.md.
public struct SharedMemoryChannel: ~Copyable, @unchecked Sendable {
    /// The shared memory object; its `descriptor` can be handed to a child.
    public let memory: PosixSharedMemory
    let placed: PlacedMapping
    let ring: ChannelRing
    /// The bytes of each producer's ring (a power of two).
    public var capacity: Int { Int(ring.capacity) }
    /// How many producers the channel takes at once (each has its own ring).
    public var producers: Int { ring.slots.count }
    /// What a sender does when its ring is full.
    public var whenFull: FullPolicy { ring.whenFull }

    /// How long a waiting end spins (checking the other end, with the processor's
    /// pause hint) before it sleeps on the futex, unless made with another
    /// `spinning`: 20 µs. Measured here, a futex wake-up costs about 25 µs each way
    /// (half of `channel-sleep`'s 50–60 µs round trip): spinning up to about that
    /// long costs at most the wake-up it may save, and a peer that answers within
    /// it is met with no system call at all.
    public static let defaultSpinning: Duration = .microseconds(20)
    /// The largest message the channel takes.
    public var maximumMessageSize: Int { ring.maximumMessageSize }

    init(memory: consuming PosixSharedMemory, placed: consuming PlacedMapping, parts: ChannelLayout) throws(IPCError) {
        let recorded = try placed.mapping.load(UInt64.self, at: parts.maximumMessageSizePlace.offset)
        let capacity = try placed.mapping.load(UInt64.self, at: parts.capacityPlace.offset)
        let producers = try placed.mapping.load(UInt64.self, at: parts.producersPlace.offset)
        let policy = try placed.mapping.load(UInt64.self, at: parts.whenFullPlace.offset)
        let object = placed.mapping.label
        func damaged(_ detail: String) -> IPCError {
            IPCError(.invalidArgument, operation: "SharedMemoryChannel.open", object: object, detail: "\(detail): damaged by another process")
        }
        if capacity != UInt64(parts.capacity) || producers != UInt64(parts.producers) {
            throw damaged("the recorded geometry (capacity \(capacity), \(producers) producers) is not the layout's (\(parts.capacity), \(parts.producers))")
        }
        let maximum = Int(truncatingIfNeeded: recorded)
        if recorded > UInt64(Int.max) || maximum < 1 || maximum > ChannelLayout.largestMessage(capacity: parts.capacity) {
            throw damaged("the recorded maximum message size (\(recorded)) does not fit a \(parts.capacity)-byte ring")
        }
        guard let whenFull = FullPolicy(rawValue: policy) else {
            throw damaged("the recorded policy when full (\(policy)) is none of block (0), fail (1), drop (2)")
        }
        ring = try ChannelRing(placed, parts, maximumMessageSize: maximum, whenFull: whenFull)
        self.memory = memory
        self.placed = placed
    }
}

extension SharedMemoryChannel {
    /// Creates the channel `name` (`EEXIST` when the name exists) for up to
    /// `producers` producers (1 to 64), each with a ring of `capacity` bytes (a
    /// power of two from 64 bytes to 1 GiB), taking messages of up to
    /// `maximumMessageSize` bytes (at most `capacity / 2 - 8`); `EINVAL` otherwise.
    /// `whenFull` is what a sender does when its ring is full. It lives until
    /// `unlink` (SPEC L3). The channel is complete before its name appears, so an
    /// opener never sees it half-made. The corresponding C functions are
    /// `open(O_TMPFILE)` in /dev/shm, `ftruncate`, `mmap` and `linkat` (see
    /// `PosixSharedMemory.createPrepared`).
    public static func create(
        _ name: PosixIPCName, capacity: Int, maximumMessageSize: Int, producers: Int = 1, whenFull: FullPolicy = .block,
        permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> SharedMemoryChannel {
        try ChannelLayout.checkGeometry(capacity: capacity, maximumMessageSize: maximumMessageSize, producers: producers,
                                        operation: "SharedMemoryChannel.create", object: name.quoted)
        let parts = try ChannelLayout(capacity: capacity, maximumMessageSize: maximumMessageSize, producers: producers, whenFull: whenFull)
        // Made complete before it has its name: an opener never sees it half-made.
        return try PosixSharedMemory.createPrepared(name, size: parts.layout.size, permissions: permissions) { memory throws(IPCError) in
            try initialise(memory, parts)
        }
    }

    /// `create` with the name as text.
    public static func create(
        _ name: String, capacity: Int, maximumMessageSize: Int, producers: Int = 1, whenFull: FullPolicy = .block,
        permissions: FilePermissions = [.ownerRead, .ownerWrite]
    ) throws(IPCError) -> SharedMemoryChannel {
        try create(PosixIPCName(name), capacity: capacity, maximumMessageSize: maximumMessageSize, producers: producers,
                   whenFull: whenFull, permissions: permissions)
    }

    /// Opens the channel `name`, waiting up to `timeout` for its creator to finish.
    /// Throws `ENOENT` when there is none; `EPROTOTYPE` for a placed object of
    /// another type, `EPROTONOSUPPORT` for another version, `EINVAL` for an object
    /// whose size or recorded geometry is not a channel's (see `PlacedMapping.open`).
    public static func open(_ name: PosixIPCName, timeout: Duration = .seconds(5)) throws(IPCError) -> SharedMemoryChannel {
        try adopt(PosixSharedMemory.open(name), until: .after(timeout))
    }

    /// `open` with the name as text.
    public static func open(_ name: String, timeout: Duration = .seconds(5)) throws(IPCError) -> SharedMemoryChannel {
        try open(PosixIPCName(name), timeout: timeout)
    }

    /// Opens the channel `name`, creating it when there is none. An existing
    /// channel of another geometry or policy is `EINVAL`.
    public static func openOrCreate(
        _ name: String, capacity: Int, maximumMessageSize: Int, producers: Int = 1, whenFull: FullPolicy = .block,
        permissions: FilePermissions = [.ownerRead, .ownerWrite], timeout: Duration = .seconds(5)
    ) throws(IPCError) -> SharedMemoryChannel {
        while true {
            do throws(IPCError) {
                return try create(name, capacity: capacity, maximumMessageSize: maximumMessageSize, producers: producers,
                                  whenFull: whenFull, permissions: permissions)
            } catch {
                if error.errno != .fileExists { throw error }
            }
            guard let channel = try openUnlessRemoved(name, timeout: timeout) else { continue }  // removed in between
            if channel.capacity != capacity || channel.maximumMessageSize != maximumMessageSize
                || channel.producers != producers || channel.whenFull != whenFull {
                throw IPCError(.invalidArgument, operation: "SharedMemoryChannel.openOrCreate", object: PosixIPCName(name).quoted,
                               detail: "the channel exists with capacity \(channel.capacity), maximum message size \(channel.maximumMessageSize), \(channel.producers) producers and policy \(channel.whenFull), not \(capacity), \(maximumMessageSize), \(producers) and \(whenFull)")
            }
            return channel
        }
    }

    private static func openUnlessRemoved(_ name: String, timeout: Duration) throws(IPCError) -> SharedMemoryChannel? {
        do throws(IPCError) {
            return try open(name, timeout: timeout)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return nil }
            throw error
        }
    }

    /// Creates an anonymous channel over a memfd, sealed against shrinking and
    /// growing: hand its `memory.descriptor` to a child (`Spawn.inherit`), which
    /// opens it with `init(adopting:)`. Freed with the last descriptor and mapping.
    /// The corresponding C functions are `memfd_create` (`MFD_CLOEXEC |
    /// MFD_ALLOW_SEALING`), `ftruncate` and `fcntl(F_ADD_SEALS, F_SEAL_SHRINK |
    /// F_SEAL_GROW)`.
    public static func anonymous(
        capacity: Int, maximumMessageSize: Int, producers: Int = 1, whenFull: FullPolicy = .block, label: String = "ipc.channel"
    ) throws(IPCError) -> SharedMemoryChannel {
        let object = IPCError.describe(path: label)
        try ChannelLayout.checkGeometry(capacity: capacity, maximumMessageSize: maximumMessageSize, producers: producers,
                                        operation: "SharedMemoryChannel.anonymous", object: object)
        let parts = try ChannelLayout(capacity: capacity, maximumMessageSize: maximumMessageSize, producers: producers, whenFull: whenFull)
        if label.utf8.count > 249 || label.utf8.contains(0) || label.contains("/") {
            throw IPCError(.invalidArgument, operation: "memfd_create", object: object,
                           detail: "a label has at most 249 bytes, no NUL and no slash")
        }
        let fd = label.withCString { system_memfd_create($0, cipc_mfd_cloexec() | cipc_mfd_allow_sealing()) }
        if fd < 0 { throw IPCError.last("memfd_create", object: object) }
        let memory = PosixSharedMemory(adopting: OwnedDescriptor(adoptingRaw: fd))
        try memory.resize(to: parts.layout.size)
        if system_add_seals(fd, cipc_f_seal_shrink() | cipc_f_seal_grow()) != 0 {
            throw IPCError.last("fcntl", object: object)
        }
        return try initialise(memory, parts)
    }

    /// Opens the channel in a descriptor this process owns — one a parent handed
    /// down (`OwnedDescriptor(inheritedNumber:)`), or received over a Unix socket —
    /// checking it like `open`.
    public init(adopting descriptor: consuming OwnedDescriptor, timeout: Duration = .seconds(5)) throws(IPCError) {
        self = try Self.adopt(PosixSharedMemory(adopting: descriptor), until: .after(timeout))
    }

    /// Removes the name; the ends that have the channel keep using it. The
    /// corresponding C function is `shm_unlink`.
    public static func unlink(_ name: PosixIPCName) throws(IPCError) {
        try PosixSharedMemory.unlink(name)
    }

    /// `unlink` with the name as text.
    public static func unlink(_ name: String) throws(IPCError) { try unlink(PosixIPCName(name)) }

    private static func initialise(_ memory: consuming PosixSharedMemory, _ parts: ChannelLayout) throws(IPCError) -> SharedMemoryChannel {
        let placed = try PlacedMapping.create(parts.layout, in: memory.map())
        return try SharedMemoryChannel(memory: memory, placed: placed, parts: parts)
    }

    /// Maps the object, waits for its creator to finish, reads the recorded
    /// geometry (after the header's type and version are checked), builds the
    /// layout it gives, and lets `PlacedMapping.open` check the object against it.
    private static func adopt(_ memory: consuming PosixSharedMemory, until deadline: Deadline) throws(IPCError) -> SharedMemoryChannel {
        let operation = "SharedMemoryChannel.open"
        let mapping = try memory.map()
        // A named channel is complete before its name appears (`create`), and an
        // anonymous one before its descriptor is handed on: memory with no
        // placement header is no channel, not one still being made.
        if mapping.length >= PlacementHeader.size, try !mapping.hasPlacementMagic() {
            try mapping.checkPlacementKind(type: ChannelLayout.type, version: ChannelLayout.version, operation)
        }
        try PlacedMapping.waitUntilReady(mapping, type: ChannelLayout.type, until: deadline)
        try mapping.checkPlacementKind(type: ChannelLayout.type, version: ChannelLayout.version, operation)
        let offsets = ChannelLayout.geometryOffsets
        let capacity = try mapping.load(UInt64.self, at: offsets.capacity)
        let producers = try mapping.load(UInt64.self, at: offsets.producers)
        let validCapacity = capacity >= UInt64(ChannelLayout.minimumCapacity) && capacity <= UInt64(ChannelLayout.maximumCapacity)
            && capacity & (capacity - 1) == 0
        if !validCapacity || producers < 1 || producers > UInt64(ChannelLayout.maximumProducers) {
            throw IPCError(.invalidArgument, operation: operation, object: mapping.label,
                           detail: "the recorded geometry (capacity \(capacity), \(producers) producers) is not a channel's: damaged by another process")
        }
        let parts = try ChannelLayout(capacity: Int(capacity), maximumMessageSize: 1, producers: Int(producers))
        let placed = try PlacedMapping.open(parts.layout, in: mapping, until: deadline)
        return try SharedMemoryChannel(memory: memory, placed: placed, parts: parts)
    }

    /// The pid of the recorded sender (the first producer), or nil when none has
    /// attached.
    public var senderPid: pid_t? { ring.slots[0].sender.recorded?.pid }
    /// The pid of the recorded receiver, or nil when none has attached.
    public var receiverPid: pid_t? { ring.receiver.recorded?.pid }
}
