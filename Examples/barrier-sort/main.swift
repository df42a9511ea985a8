// barrier-sort: SPEC X1 — 8 threads each sort 1/8 of the numbers, meet at a
// barrier, and the main thread merges the 8 sorted runs; then the same numbers
// are sorted on one thread, for comparison.
//
//   barrier-sort [COUNT]     e.g. barrier-sort 8000000 (the default)
//
// The threads are PosixThreads; the barrier is a MappedBarrier in anonymous
// shared memory (the same placed barrier processes would share by name), with 9
// participants: the 8 sorters and the main thread, which starts merging once the
// round completes. Prints both times and exits 1 if the result is not sorted or
// differs from the single-threaded sort.
import Interprocess

#if canImport(Glibc)
import Glibc  // write, exit
#endif

func fail(_ message: String) -> Never {
    var bytes = Array("barrier-sort: \(message)\n".utf8)
    _ = write(2, &bytes, bytes.count)
    exit(1)
}

let threads = 8
let arguments = CommandLine.arguments.dropFirst()
guard arguments.count <= 1, let count = Int(arguments.first ?? "8000000"), count >= threads else {
    fail("usage: barrier-sort [COUNT ≥ \(threads)]")
}

/// The numbers, shared by the sorters: each sorts its own disjoint part in place.
struct Numbers: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<UInt32>

    func part(_ index: Int) -> Range<Int> {
        let size = buffer.count / threads
        return index * size ..< (index == threads - 1 ? buffer.count : (index + 1) * size)
    }

    func sortPart(_ index: Int) {
        var numbers = UnsafeMutableBufferPointer(rebasing: buffer[part(index)])
        numbers.sort()
    }
}

/// The barrier's place in anonymous shared memory.
final class Meeting: Sendable {
    let place: SharedPlace<MappedBarrier>
    let placed: PlacedMapping

    init() throws {
        var layout = try SharedLayout(type: "x1.barrier-sort", version: 1)
        place = try layout.barrier(participants: threads + 1)
        placed = try PlacedMapping.create(layout, in: PosixSharedMemory.anonymous(size: layout.size).map())
    }

    /// Joins the barrier as the calling thread, runs `work`, and waits for the others.
    func arrive(after work: () -> Void) throws {
        try placed.withBarrier(place) { barrier in
            try barrier.withParticipant { me in
                work()
                _ = try barrier.wait(as: me, timeout: .seconds(600))
            }
        }
    }
}

/// Merges the sorted runs `runs` of `source` into `destination`, two by two.
func mergeRuns(_ source: UnsafeMutableBufferPointer<UInt32>, _ runs: [Range<Int>]) {
    var runs = runs
    var from = source
    var to = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: source.count)
    defer { if to.baseAddress != source.baseAddress { to.deallocate() } else { from.deallocate() } }
    while runs.count > 1 {
        var merged: [Range<Int>] = []
        for pair in stride(from: 0, to: runs.count, by: 2) {
            guard pair + 1 < runs.count else {
                let run = runs[pair]
                for index in run { to[index] = from[index] }
                merged.append(run)
                continue
            }
            let left = runs[pair], right = runs[pair + 1]
            var i = left.lowerBound, j = right.lowerBound, out = left.lowerBound
            while i < left.upperBound && j < right.upperBound {
                if from[j] < from[i] { to[out] = from[j]; j += 1 } else { to[out] = from[i]; i += 1 }
                out += 1
            }
            while i < left.upperBound { to[out] = from[i]; i += 1; out += 1 }
            while j < right.upperBound { to[out] = from[j]; j += 1; out += 1 }
            merged.append(left.lowerBound ..< right.upperBound)
        }
        runs = merged
        swap(&from, &to)
    }
    if from.baseAddress != source.baseAddress {
        _ = source.update(fromContentsOf: from)
    }
}

/// Starts sorter `index` and the ones after it, runs `body` on this thread while
/// they run, then joins them (a `PosixThread` is owned by one variable, so the
/// owners live in the frames of this recursion rather than in an array).
func withSorters(from index: Int, _ body: () throws -> Void) throws {
    guard index < threads else { return try body() }
    let sorter = try PosixThread<Void, any Error>.start(name: "sorter-\(index)") {
        try meeting.arrive { numbers.sortPart(index) }
    }
    try withSorters(from: index + 1, body)
    try sorter.join()
}

func seconds(_ duration: Duration) -> String {
    let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - String(milliseconds % 1000).count))\(milliseconds % 1000) s"
}

var generator = SystemRandomNumberGenerator()
let numbers = Numbers(buffer: .allocate(capacity: count))
for index in 0..<count { numbers.buffer[index] = generator.next() }
var single = Array(numbers.buffer)

let meeting: Meeting
do { meeting = try Meeting() } catch { fail("\(error)") }

do {
    let clock = ContinuousClock()
    let start = clock.now
    var sorted = start, merged = start
    try withSorters(from: 0) {
        try meeting.arrive {}  // returns when all 8 parts are sorted
        sorted = clock.now
        mergeRuns(numbers.buffer, (0..<threads).map(numbers.part))
        merged = clock.now
    }

    let singleStart = clock.now
    single.sort()
    let singleTime = clock.now - singleStart

    let parallel = merged - start
    print("\(count) numbers, \(threads) threads: \(seconds(parallel)) (sort \(seconds(sorted - start)), merge \(seconds(merged - sorted)))")
    print("\(count) numbers, 1 thread:  \(seconds(singleTime))")
    guard (1..<count).allSatisfy({ numbers.buffer[$0 - 1] <= numbers.buffer[$0] }) else { fail("the merged result is not sorted") }
    guard single.elementsEqual(numbers.buffer) else { fail("the merged result differs from the single-threaded sort") }
    print("sorted: yes")
} catch {
    fail("\(error)")
}
