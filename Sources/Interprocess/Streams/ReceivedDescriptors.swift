import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Descriptors that arrived with a message (SCM_RIGHTS, SPEC S7), owned until
/// taken: every one not taken is closed when this value goes away, so a peer
/// cannot make this process leak descriptors by sending more than it expects.
///
/// They are close-on-exec (received with `MSG_CMSG_CLOEXEC`). Swift arrays cannot
/// hold `~Copyable` values, so descriptors are taken one at a time with
/// `take(at:)`, or all at once as unowned numbers with `releaseAll()`.
///
/// ```swift
/// var message = try socket.receive(into: buffer, descriptorLimit: 1)
/// guard let file = message.descriptors.take(at: 0) else { … }
/// ```
public struct ReceivedDescriptors: ~Copyable, Sendable {
    /// The numbers in arrival order; -1 once taken.
    private var numbers: [CInt]

    init(numbers: [CInt]) { self.numbers = numbers }

    /// No descriptors.
    public init() { numbers = [] }

    deinit {
        for fd in numbers where fd >= 0 { _ = system_close(fd) }
    }

    /// How many descriptors arrived (taken ones included).
    public var count: Int { numbers.count }

    public var isEmpty: Bool { numbers.isEmpty }

    /// How many are still here, not taken.
    public var remaining: Int { numbers.reduce(0) { $1 >= 0 ? $0 + 1 : $0 } }

    /// A look at descriptor `index` without taking it: valid only while this value
    /// holds it. Nil when taken or out of range.
    public subscript(index: Int) -> FileDescriptor? {
        guard numbers.indices.contains(index), numbers[index] >= 0 else { return nil }
        return FileDescriptor(rawValue: numbers[index])
    }

    /// Takes ownership of descriptor `index`; nil when it was taken already or
    /// `index` is out of range.
    public mutating func take(at index: Int) -> OwnedDescriptor? {
        guard numbers.indices.contains(index), numbers[index] >= 0 else { return nil }
        let fd = numbers[index]
        numbers[index] = -1
        return OwnedDescriptor(adoptingRaw: fd)
    }

    /// Takes the first descriptor not taken yet; nil when none is left.
    public mutating func takeNext() -> OwnedDescriptor? {
        guard let index = numbers.firstIndex(where: { $0 >= 0 }) else { return nil }
        return take(at: index)
    }

    /// Gives up ownership of every descriptor not taken yet, in arrival order:
    /// the caller must close them.
    public mutating func releaseAll() -> [FileDescriptor] {
        let released = numbers.filter { $0 >= 0 }.map { FileDescriptor(rawValue: $0) }
        numbers = numbers.map { _ in -1 }
        return released
    }
}
