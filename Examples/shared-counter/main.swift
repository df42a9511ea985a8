// shared-counter: SPEC X4 — N processes add to one counter in shared memory under
// a robust process-shared mutex; the parent prints the total and checks it.
//
//   shared-counter PROCESSES INCREMENTS    e.g. shared-counter 4 10000 → 40000
//
// The counter is a plain 64-bit integer (not an atomic): only the mutex keeps
// the read-add-write of each increment whole. A worker that died holding the
// lock would be reported to the next one (.previousOwnerDied), which repairs by
// keeping the counter as it is (one increment is a single store) and marks the
// mutex consistent.
import Interprocess

#if canImport(Glibc)
import Glibc  // write, exit, getpid, readlink: the C library itself
#endif

func fail(_ message: String) -> Never {
    var bytes = Array("shared-counter: \(message)\n".utf8)
    _ = write(2, &bytes, bytes.count)
    exit(1)
}

/// Every process builds the same layout: a mutex and an 8-byte counter.
struct CounterLayout {
    var layout: SharedLayout
    var mutex: SharedPlace<MappedMutex>
    var counter: SharedPlace<SharedBytes>

    init() throws(IPCError) {
        layout = try SharedLayout(type: "x4.shared-counter", version: 1)
        mutex = try layout.mutex(kind: .errorChecking)
        counter = try layout.bytes(count: 8, alignment: 8)
    }
}

func load(_ placed: borrowing PlacedMapping, _ place: SharedPlace<SharedBytes>) throws -> UInt64 {
    let bytes = try placed.read(count: 8, from: place)
    return bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
}

func store(_ placed: borrowing PlacedMapping, _ place: SharedPlace<SharedBytes>, _ value: UInt64) throws {
    try placed.write((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }, to: place)
}

func work(name: String, increments: Int) throws {
    let shape = try CounterLayout()
    let placed = try PlacedMapping.open(shape.layout, in: PosixSharedMemory.open(name).map(), until: .after(.seconds(10)))
    try placed.withMutex(shape.mutex) { mutex in
        for _ in 0..<increments {
            try mutex.withLock(ifOwnerDied: { pid in
                print("worker \(getpid()): worker \(pid.map(String.init) ?? "?") died holding the lock; the counter stands")
            }) {
                try store(placed, shape.counter, load(placed, shape.counter) + 1)
            }
        }
    }
}

func executablePath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return count > 0 ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "worker" where arguments.count == 3:
    do { try work(name: arguments[1], increments: Int(arguments[2])!) } catch { fail("\(error)") }
case .some where arguments.count == 2:
    guard let processes = Int(arguments[0]), let increments = Int(arguments[1]), processes > 0, increments >= 0 else {
        fail("usage: shared-counter PROCESSES INCREMENTS")
    }
    let name = "/shared-counter-\(getpid())"
    do {
        let shape = try CounterLayout()
        let memory = try PosixSharedMemory.create(name, size: shape.layout.size)
        defer { try? PosixSharedMemory.unlink(name) }
        let placed = try PlacedMapping.create(shape.layout, in: memory.map())
        var children = ChildProcessSet()
        for _ in 0..<processes {
            _ = try children.start(Spawn(executablePath(), arguments: ["worker", name, String(increments)]))
        }
        var failed = 0
        while !children.isEmpty {
            if try children.waitAny().status != .exited(0) { failed += 1 }
        }
        let total = try load(placed, shape.counter)
        let expected = UInt64(processes) * UInt64(increments)
        print("\(processes) processes × \(increments) increments: counter = \(total) (expected \(expected))")
        if failed > 0 || total != expected { fail("\(failed) workers failed; the counter is \(total), not \(expected)") }
    } catch {
        fail("\(error)")
    }
default:
    fail("usage: shared-counter PROCESSES INCREMENTS")
}
