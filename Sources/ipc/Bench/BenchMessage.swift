#if canImport(Glibc)
import Glibc
#endif

/// The first byte of every bench message (the same values as refbench's harness).
enum BenchTag: UInt8 {
    /// Latency probe: the responder echoes it.
    case ping = 1
    /// Throughput payload: the responder drops it.
    case data = 2
    /// End of a throughput stream: the responder echoes it.
    case sync = 3
    /// End of the run: the responder echoes it and exits.
    case quit = 4
}

/// Where the sequence number of a ping sits in the message (bytes 8..<16).
let benchSequenceOffset = 8
/// The smallest message: the tag, padding, and the sequence number.
let benchMinimumMessageSize = 16

/// A message buffer: page-aligned, zeroed, with a page of writable headroom before
/// it (as the harness allocates, so a transport may put a header in place).
/// Allocated once per run; the hot loops only read and write its bytes.
struct MessageBuffer: ~Copyable {
    private let allocation: UnsafeMutableRawPointer
    let bytes: UnsafeMutableRawBufferPointer

    static let headroom = 4096

    init(size: Int) {
        allocation = .allocate(byteCount: size + Self.headroom, alignment: 4096)
        allocation.initializeMemory(as: UInt8.self, repeating: 0, count: size + Self.headroom)
        bytes = UnsafeMutableRawBufferPointer(start: allocation + Self.headroom, count: size)
    }

    deinit { allocation.deallocate() }

    /// Fills the payload with the harness's pattern (`i * 131 + 7`).
    func fillPattern() {
        for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
    }

    var tag: UInt8 {
        get { bytes[0] }
        nonmutating set { bytes[0] = newValue }
    }

    var sequence: UInt64 {
        get { bytes.load(fromByteOffset: benchSequenceOffset, as: UInt64.self) }
        nonmutating set { bytes.storeBytes(of: newValue, toByteOffset: benchSequenceOffset, as: UInt64.self) }
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: one read per round trip in the latency loop.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}
