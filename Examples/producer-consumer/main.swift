// producer-consumer: SPEC X2 — producer threads put numbered items into a bounded
// buffer and consumer threads take them out, under one MappedMutex; each side
// waits on its MappedCondition in a loop on a predicate ("not full", "not empty"),
// as the notes teach: a wake-up is a hint to check again, never a promise.
//
//   producer-consumer PRODUCERS CONSUMERS ITEMS   e.g. producer-consumer 3 2 100000
//
// Producer p puts p*ITEMS ..< (p+1)*ITEMS. The consumers mark each item they take;
// at the end the program checks every item arrived exactly once, prints the
// count and the sum, and exits 1 if anything is off.
//
// The buffer lives in anonymous shared memory, the same placed objects a group
// of processes would share by name (PosixSharedMemory.create / open).
import Foundation  // Thread, NSLock
import Interprocess
import Synchronization  // Atomic

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("producer-consumer: \(message)\n".utf8))
    exit(1)
}

/// A bounded buffer of `capacity` 64-bit items: a mutex, "not empty" and "not
/// full" conditions, the count, the next slot to read and the items not yet
/// taken (changed only under the mutex: atomics only because that is how a
/// placed integer is reached), and the slots.
struct BufferLayout {
    static let capacity = 16
    var layout: SharedLayout
    var mutex: SharedPlace<MappedMutex>
    var notEmpty: SharedPlace<MappedCondition>
    var notFull: SharedPlace<MappedCondition>
    var count: SharedPlace<Atomic<Int64>>
    var head: SharedPlace<Atomic<Int64>>
    var untaken: SharedPlace<Atomic<Int64>>
    var slots: SharedPlace<SharedBytes>

    init() throws(IPCError) {
        layout = try SharedLayout(type: "x2.producer-consumer", version: 1)
        mutex = try layout.mutex(kind: .errorChecking)
        notEmpty = try layout.condition()
        notFull = try layout.condition()
        count = try layout.atomic(Int64.self)
        head = try layout.atomic(Int64.self)
        untaken = try layout.atomic(Int64.self)
        slots = try layout.bytes(count: Self.capacity * 8, alignment: 8)
    }
}

/// What every thread shares: the placed buffer, and a semaphore each thread posts
/// when it is done.
final class Shared: Sendable {
    let shape: BufferLayout
    let placed: PlacedMapping
    let done: UnnamedSemaphore

    init(untaken: Int) throws {
        shape = try BufferLayout()
        placed = try PlacedMapping.create(shape.layout, in: PosixSharedMemory.anonymous(size: shape.layout.size).map())
        done = try UnnamedSemaphore(value: 0)
        try set(shape.untaken, Int64(untaken))
    }

    func value(_ place: SharedPlace<Atomic<Int64>>) throws -> Int64 {
        try placed.withAtomic(place) { $0.load(ordering: .relaxed) }
    }

    func set(_ place: SharedPlace<Atomic<Int64>>, _ value: Int64) throws {
        try placed.withAtomic(place) { $0.store(value, ordering: .relaxed) }
    }

    func slot(_ index: Int64) throws -> Int64 {
        try placed.withBytes(shape.slots) { $0.unsafeLoad(fromByteOffset: Int(index) * 8, as: Int64.self) }
    }

    func setSlot(_ index: Int64, _ item: Int64) throws {
        try placed.withMutableBytes(shape.slots) { $0.storeBytes(of: item, toByteOffset: Int(index) * 8, as: Int64.self) }
    }

    /// Takes the mutex and runs `body` holding it. Between threads of one live
    /// process no owner can die; processes sharing the buffer would repair here.
    func locked<R>(_ body: (borrowing MappedMutex) throws -> R) throws -> R {
        try placed.withMutex(shape.mutex) { mutex in
            try mutex.withLock(ifOwnerDied: { pid in fail("process \(pid ?? 0) died holding the lock") }) { try body(mutex) }
        }
    }

    /// Waits (in a loop, on "not full") for room, puts `item`, wakes a consumer.
    func put(_ item: Int64) throws {
        try locked { mutex in
            try placed.withCondition(shape.notFull) { notFull in
                _ = try notFull.wait(on: mutex, until: { try value(shape.count) < BufferLayout.capacity })
            }
            let count = try value(shape.count)
            try setSlot((try value(shape.head) + count) % Int64(BufferLayout.capacity), item)
            try set(shape.count, count + 1)
        }
        try placed.withCondition(shape.notEmpty) { try $0.signal() }
    }

    /// Waits (in a loop, on "not empty") for an item and takes it; nil once every
    /// item has been taken. The consumer that takes the last one wakes the others
    /// so they can stop.
    func take() throws -> Int64? {
        let item: Int64? = try locked { mutex in
            try placed.withCondition(shape.notEmpty) { notEmpty in
                _ = try notEmpty.wait(on: mutex, until: { try value(shape.count) > 0 || value(shape.untaken) == 0 })
                let count = try value(shape.count)
                if count == 0 { return nil }
                let head = try value(shape.head)
                let item = try slot(head)
                try set(shape.head, (head + 1) % Int64(BufferLayout.capacity))
                try set(shape.count, count - 1)
                let untaken = try value(shape.untaken) - 1
                try set(shape.untaken, untaken)
                if untaken == 0 { try notEmpty.broadcast() }
                return item
            }
        }
        if item != nil { try placed.withCondition(shape.notFull) { try $0.signal() } }
        return item
    }
}

/// What the consumers took, gathered under a lock when each is done.
final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int64] = []

    func add(_ taken: [Int64]) {
        lock.lock()
        items += taken
        lock.unlock()
    }

    var all: [Int64] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

func startThread(_ shared: Shared, _ body: @escaping @Sendable () throws -> Void) {
    Thread {
        do { try body() } catch { fail("\(error)") }
        do { try shared.done.post() } catch { fail("\(error)") }
    }.start()
}

let arguments = CommandLine.arguments.dropFirst().map { Int($0) }
guard arguments.count == 3, let producers = arguments[0], let consumers = arguments[1], let items = arguments[2],
      producers > 0, consumers > 0, items >= 0, producers <= 64, consumers <= 64 else {
    fail("usage: producer-consumer PRODUCERS CONSUMERS ITEMS (1 to 64 threads each)")
}
do {
    let shared = try Shared(untaken: producers * items)
    let received = Received()
    for producer in 0..<producers {
        startThread(shared) {
            for k in 0..<items { try shared.put(Int64(producer * items + k)) }
        }
    }
    for _ in 0..<consumers {
        startThread(shared) {
            var mine: [Int64] = []
            while let item = try shared.take() { mine.append(item) }
            received.add(mine)
        }
    }
    for _ in 0..<(producers + consumers) { try shared.done.wait() }
    let all = received.all.sorted()
    let total = producers * items
    let sum = all.reduce(0, +)
    print("\(producers) producers × \(items) items, \(consumers) consumers: \(all.count) items received, sum \(sum)")
    if all != (0..<Int64(total)).map({ $0 }) {
        fail("expected each of 0..<\(total) exactly once (sum \(Int64(total) * Int64(total - 1) / 2))")
    }
} catch {
    fail("\(error)")
}
