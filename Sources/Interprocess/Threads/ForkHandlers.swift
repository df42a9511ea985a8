/// The program's fork handlers (SPEC P9), as `pthread_atfork` registers them:
/// `prepare` runs in the parent just before `fork`, in reverse order of
/// registration; `parent` in the parent after `fork`, and `child` in the child
/// before `fork` returns there, both in order of registration.
///
/// ```swift
/// ForkHandlers.register(
///     prepare: { cacheLock.lock() },          // no other thread holds it across fork
///     parent: { cacheLock.unlock() },
///     child: { cacheLock.reinitialize() })
/// ```
///
/// They run inside the library's single `pthread_atfork` registration, under the
/// lock that keeps the registry stable across `fork`: a handler must not register
/// handlers (it would wait for itself). In the child, the library's own resets
/// (reactor, waiting engine) run before the program's `child` handlers.
///
/// What a child may do: the child of a process that had other threads has only
/// the thread that called `fork`; locks those threads held stay held forever and
/// their data may be half-updated. Until it calls `exec`, such a child — and its
/// `child` handlers — should call only async-signal-safe functions (`write`,
/// `close`, `dup2`, `execve`, `_exit`, …): no allocation, no Swift runtime lock,
/// no `print`. `Spawn` (`posix_spawn`) avoids the question and is the way to run
/// another program. Handlers run only for `fork` (and `pthread_atfork`-aware
/// wrappers), not for `vfork`, `clone` or `posix_spawn`.
public enum ForkHandlers {
    /// Registers one set of handlers; any may be nil. There is no unregistering
    /// (`pthread_atfork` has none).
    public static func register(
        prepare: (@Sendable () -> Void)? = nil,
        parent: (@Sendable () -> Void)? = nil,
        child: (@Sendable () -> Void)? = nil
    ) {
        LibraryThread.addProgramForkHandlers(ForkHandlerSet(prepare: prepare, parent: parent, child: child))
    }
}

/// One `ForkHandlers.register` call.
struct ForkHandlerSet: Sendable {
    let prepare: (@Sendable () -> Void)?
    let parent: (@Sendable () -> Void)?
    let child: (@Sendable () -> Void)?
}
