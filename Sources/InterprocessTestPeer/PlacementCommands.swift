import Interprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Peer commands for objects placed in shared memory (PlacedMapping). Every one
// maps the POSIX shared memory object NAME and uses `placementTestLayout`, which
// PlacementTests builds the same way. Outcomes are one line: "ok …" or the errno
// name of the IPCError.

/// The layout the placement tests share: a semaphore, a marker the initialiser
/// sets to 7 just before the objects become ready, and 100 bytes.
struct PlacementTestLayout {
    var layout: SharedLayout
    var semaphore: SharedPlace<MappedSemaphore>
    var marker: SharedPlace<Atomic<UInt64>>
    var bytes: SharedPlace<SharedBytes>

    init(type: String, version: UInt32) throws(IPCError) {
        layout = try SharedLayout(type: type, version: version)
        semaphore = try layout.semaphore(value: 0)
        marker = try layout.atomic(UInt64.self)
        bytes = try layout.bytes(count: 100)
    }
}

extension PeerCommands {
    static let placement: [String: PeerCommand] = [
        // placed-create NAME TYPE VERSION now|hold|barrier: create the objects.
        // hold: print "initialising" inside the initialisation and go on only after
        // a line on stdin. barrier: print "waiting", and create only after a line
        // on stdin. Prints "ok PID" (this process initialised) or the errno name.
        "placed-create": { args in
            let test = try PlacementTestLayout(type: args[1], version: UInt32(args[2])!)
            if args[3] == "barrier" {
                say("waiting")
                _ = readLine()
            }
            do {
                let mapping = try PosixSharedMemory.open(args[0]).map()
                let placed = try PlacedMapping.create(test.layout, in: mapping) { placed in
                    if args[3] == "hold" {
                        say("initialising")
                        _ = readLine()
                    }
                    try placed.withAtomic(test.marker) { $0.store(7, ordering: .relaxed) }
                }
                say("ok \(placed.initialiser)")
            } catch let error as IPCError {
                say(error.errnoName)
            }
            return 0
        },
        // placed-open NAME TYPE VERSION MILLISECONDS: open the objects, waiting up to
        // MILLISECONDS; print "ok MARKER" or the errno name.
        "placed-open": { args in
            let test = try PlacementTestLayout(type: args[1], version: UInt32(args[2])!)
            do {
                let mapping = try PosixSharedMemory.open(args[0]).map()
                let placed = try PlacedMapping.open(test.layout, in: mapping, until: .after(.milliseconds(Int(args[3])!)))
                say("ok \(try placed.withAtomic(test.marker) { $0.load(ordering: .relaxed) })")
            } catch let error as IPCError {
                say(error.errnoName)
            }
            return 0
        },
        // mapped-sem NAME post|wait: open the test layout (type "mapped-sem") and
        // post or wait on its semaphore.
        "mapped-sem": { args in
            let test = try PlacementTestLayout(type: "mapped-sem", version: 1)
            let placed = try PlacedMapping.open(test.layout, in: PosixSharedMemory.open(args[0]).map(), until: .after(.seconds(30)))
            return try placed.withSemaphore(test.semaphore) { semaphore in
                switch args[1] {
                case "post": try semaphore.post()
                case "wait":
                    do { try semaphore.wait(timeout: .seconds(30)) } catch let error as IPCError where error.isTimeout { return 2 }
                default: return 64
                }
                return 0
            }
        },
    ]
}
