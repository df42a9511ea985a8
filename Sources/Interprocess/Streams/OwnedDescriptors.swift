import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Owned descriptors in a row, as Swift arrays cannot hold `~Copyable` values: the
/// descriptors that arrived with a message (SCM_RIGHTS, SPEC S7), or several to send
/// in one (`UnixSocket.send(_:descriptors:to:)`, which borrows them).
///
/// Every descriptor still here is closed when this value goes away, so a peer
/// cannot make this process leak descriptors by sending more than it expects.
/// `append(_:)` adds one at the end; `take(at:)` and `takeNext()` take one out,
/// leaving its place empty, so indices never move. Received descriptors are
/// close-on-exec (`MSG_CMSG_CLOEXEC`).
///
/// ```swift
/// var message = try socket.receive(into: buffer, descriptorLimit: 1)
/// guard let file = message.descriptors.take(at: 0) else { … }
///
/// var both = OwnedDescriptors()
/// both.append(try first.duplicate())
/// both.append(try second.duplicate())
/// try socket.send(Array("two".utf8), descriptors: both)
/// ```
public struct OwnedDescriptors: ~Copyable, Sendable {
    /// The numbers in order; -1 once taken.
    private var numbers: [CInt]

    /// Takes ownership of `numbers`.
    init(adoptingRaw numbers: [CInt]) { self.numbers = numbers }

    /// No descriptors.
    public init() { numbers = [] }

    deinit {
        for fd in numbers where fd >= 0 { _ = system_close(fd) }
    }

    /// How many places there are: the descriptors here and the ones taken.
    public var count: Int { numbers.count }

    public var isEmpty: Bool { numbers.isEmpty }

    /// How many descriptors are still here, not taken.
    public var remaining: Int { numbers.reduce(0) { $1 >= 0 ? $0 + 1 : $0 } }

    /// Adds `descriptor` at the end (index `count` before the call).
    public mutating func append(_ descriptor: consuming OwnedDescriptor) {
        numbers.append(descriptor.release().rawValue)
    }

    /// Whether the place `index` holds a descriptor (false when taken or out of range).
    public func hasDescriptor(at index: Int) -> Bool {
        numbers.indices.contains(index) && numbers[index] >= 0
    }

    /// Lends descriptor `index` to `body` without taking it; nil when it was taken
    /// or `index` is out of range.
    public func withDescriptor<R, E: Error>(at index: Int, _ body: (borrowing OwnedDescriptor) throws(E) -> R) throws(E) -> R? {
        guard hasDescriptor(at: index) else { return nil }
        let lent = OwnedDescriptor(adoptingRaw: numbers[index])
        let result: Result<R, E>
        do throws(E) { result = .success(try body(lent)) } catch { result = .failure(error) }
        _ = lent.release()  // still owned here
        return try result.get()
    }

    /// Takes ownership of descriptor `index`; nil when it was taken already or
    /// `index` is out of range.
    public mutating func take(at index: Int) -> OwnedDescriptor? {
        guard hasDescriptor(at: index) else { return nil }
        let fd = numbers[index]
        numbers[index] = -1
        return OwnedDescriptor(adoptingRaw: fd)
    }

    /// Takes the first descriptor not taken yet; nil when none is left.
    public mutating func takeNext() -> OwnedDescriptor? {
        guard let index = numbers.firstIndex(where: { $0 >= 0 }) else { return nil }
        return take(at: index)
    }

    /// Takes every descriptor still here, in order, leaving none.
    public mutating func takeAll() -> OwnedDescriptors {
        OwnedDescriptors(adoptingRaw: releaseNumbers())
    }

    /// Gives up every descriptor still here without closing it: the caller owns
    /// the numbers.
    mutating func releaseNumbers() -> [CInt] {
        let held = heldNumbers
        numbers = []
        return held
    }

    /// The numbers of the descriptors still here, in order: what a send carries.
    var heldNumbers: [CInt] { numbers.filter { $0 >= 0 } }
}
