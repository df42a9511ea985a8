import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A key to a value each thread holds for itself, with a destructor that runs at
/// the thread's exit (SPEC P7): `pthread_key_create`, `pthread_setspecific`,
/// `pthread_getspecific`, `pthread_key_delete`.
///
/// Every thread sees its own `value` (nil until it sets one). When a thread that
/// holds a value ends — its body returns, throws or is cancelled, on any thread
/// the C library runs thread exit for — the destructor runs once, on that thread,
/// with that value. A thread that never set a value (or set nil) runs none.
/// Replacing a value with `set` runs no destructor for the old one (as
/// `pthread_setspecific`): the old value is simply released.
///
/// ```swift
/// let buffers = try ThreadSpecificKey<Buffer> { buffer in buffer.flush() }
/// try buffers.set(Buffer())        // this thread's
/// buffers.value?.append(bytes)
/// ```
///
/// Limits: a process has `PTHREAD_KEYS_MAX` (1024) keys, so create keys once
/// (a `static let`), not per object. `delete()` runs no destructor (as
/// `pthread_key_delete`): values other threads still hold are never destroyed and
/// their memory is leaked, so delete a key only once no thread uses it. The main
/// thread's values are destroyed only if it ends with `pthread_exit`, not when the
/// process calls `exit`.
public final class ThreadSpecificKey<Value>: Sendable {
    /// The C key.
    public let key: pthread_key_t
    private let destructor: (@Sendable (Value) -> Void)?
    private let deleted = Atomic<Bool>(false)

    /// Creates a key (`pthread_key_create`); `destructor` runs at the exit of each
    /// thread holding a value. Throws `EAGAIN` when the process has no key left.
    public init(destructor: (@Sendable (Value) -> Void)? = nil) throws(IPCError) {
        var key = pthread_key_t()
        let rc = system_pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<ThreadSpecificBox>.fromOpaque(raw).takeRetainedValue().destroy()
        }
        if rc != 0 {
            throw IPCError(Errno(rawValue: rc), operation: "pthread_key_create", object: "thread-specific key")
        }
        self.key = key
        self.destructor = destructor
    }

    /// The calling thread's value (`pthread_getspecific`); nil when it set none or
    /// the key was deleted.
    public var value: Value? {
        guard !deleted.load(ordering: .acquiring), let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<ThreadSpecificBox>.fromOpaque(raw).takeUnretainedValue().contents as? Value
    }

    /// Sets the calling thread's value (`pthread_setspecific`); nil removes it. The
    /// value it replaces is released without its destructor. Throws `EINVAL` after
    /// `delete()`, `ENOMEM` when the C library cannot store it.
    public func set(_ value: Value?) throws(IPCError) {
        guard !deleted.load(ordering: .acquiring) else {
            throw IPCError(.invalidArgument, operation: "pthread_setspecific", object: "thread-specific key \(key)",
                           detail: "the key was deleted")
        }
        let old = pthread_getspecific(key)
        let new = value.map { Unmanaged.passRetained(ThreadSpecificBox(contents: $0, destroy: destructor)) }
        let rc = system_pthread_setspecific(key, new?.toOpaque())
        if rc != 0 {
            new?.release()
            throw IPCError(Errno(rawValue: rc), operation: "pthread_setspecific", object: "thread-specific key \(key)")
        }
        if let old { Unmanaged<ThreadSpecificBox>.fromOpaque(old).release() }
    }

    /// Deletes the key (`pthread_key_delete`). Runs no destructor, not even for the
    /// calling thread's value (set it to nil first to release that). Throws
    /// `EINVAL` when already deleted.
    public func delete() throws(IPCError) {
        guard deleted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw IPCError(.invalidArgument, operation: "pthread_key_delete", object: "thread-specific key \(key)",
                           detail: "the key was already deleted")
        }
        let rc = system_pthread_key_delete(key)
        if rc != 0 {
            throw IPCError(Errno(rawValue: rc), operation: "pthread_key_delete", object: "thread-specific key \(key)")
        }
    }
}

/// What a key stores for a thread: the value and what to run at the thread's exit.
/// Not generic, so the key's C destructor can take it back without knowing `Value`.
final class ThreadSpecificBox {
    let contents: Any
    private let run: () -> Void

    init<Value>(contents: Value, destroy: (@Sendable (Value) -> Void)?) {
        self.contents = contents
        self.run = { destroy?(contents) }
    }

    func destroy() { run() }
}
