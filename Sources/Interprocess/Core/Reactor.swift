import CInterprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The async waiting machinery for pollable descriptors: one epoll instance
/// watched by one thread of the library's own, so an `await` on readiness never
/// occupies a thread of Swift's cooperative pool.
///
/// Each wait is a one-shot registration. Cancelling the waiting task removes the
/// registration and resumes the waiter with `CancellationError` at once.
///
/// The process has one reactor, started on first use. A forked child has none of
/// its parent's threads: `LibraryThread.afterForkInChild` forgets the parent's
/// reactor there (closing its epoll descriptor), so the child's first async wait
/// starts a reactor of its own.
final class Reactor: Sendable {
    /// The process's reactor. In a forked child the parent's has no thread and its
    /// waiters belong to the parent's tasks: only its epoll descriptor is closed.
    private static let instance = ProcessSingleton<Reactor>(
        make: { () throws(IPCError) in try Reactor() },
        forgetInChild: { _ = system_close($0.epoll) })

    /// The process's reactor, started on first use. Starting it can fail (no
    /// descriptor or thread left): the wait reports that error, and the next wait
    /// tries again.
    static var shared: Reactor {
        get throws(IPCError) { try instance.object }
    }

    private enum Entry {
        /// Allocated; the continuation is not stored yet.
        case pending
        /// Cancelled before the continuation was stored.
        case cancelledEarly
        /// Registered with epoll under `registeredFD` (a duplicate when the
        /// descriptor was already registered by another waiter).
        case waiting(CheckedContinuation<Void, any Error>, registeredFD: CInt, ownsFD: Bool)
    }

    private struct State {
        var nextToken: UInt64 = 1
        var entries: [UInt64: Entry] = [:]
    }

    private let epoll: CInt
    private let state = Mutex(State())

    private init() throws(IPCError) {
        epoll = system_epoll_create1(CInt(EPOLL_CLOEXEC))
        if epoll < 0 { throw IPCError.last("epoll_create1", detail: "the async reactor could not start") }
        try startThread()
    }

    /// Suspends until `fd` is ready for `readiness`.
    func waitAsync(_ fd: CInt, for readiness: Readiness) async throws {
        let token = state.withSanitizedLock { s -> UInt64 in
            let t = s.nextToken
            s.nextToken += 1
            s.entries[t] = .pending
            return t
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                register(token, fd, readiness, continuation)
            }
        } onCancel: {
            finish(token, with: .failure(CancellationError()))
        }
    }

    /// Whether a task is suspended waiting on `fd` (for tests that must cancel a
    /// wait that has really started).
    static func isWaiting(on fd: CInt) -> Bool {
        (try? shared)?.hasWaiter(on: fd) ?? false
    }

    private func hasWaiter(on fd: CInt) -> Bool {
        state.withSanitizedLock { s in
            s.entries.values.contains {
                if case .waiting(_, let registered, _) = $0 { return registered == fd }
                return false
            }
        }
    }

    private enum Registration {
        case registered
        case cancelled
        case alwaysReady
        case failed(CInt)
    }

    private func register(_ token: UInt64, _ fd: CInt, _ readiness: Readiness, _ continuation: CheckedContinuation<Void, any Error>) {
        var events = UInt32(EPOLLONESHOT.rawValue)
        if readiness.contains(.readable) { events |= UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) }
        if readiness.contains(.writable) { events |= UInt32(EPOLLOUT.rawValue) }

        // Registering under the lock means a concurrent cancellation either sees
        // the wait before it exists (and marks it cancelled) or after it is
        // complete (and removes it): epoll never keeps a registration nobody owns.
        let outcome = state.withSanitizedLock { s -> Registration in
            if case .cancelledEarly = s.entries[token] {
                s.entries[token] = nil
                return .cancelled
            }
            var registered = fd
            var owns = false
            var result = system_epoll_ctl(epoll, EPOLL_CTL_ADD, fd, events, token)
            if result != 0 && lastErrno == EEXIST {
                // Another task waits on the same descriptor: epoll keys registrations
                // by descriptor, so register a duplicate.
                registered = system_fcntl(fd, F_DUPFD_CLOEXEC, 0)
                if registered >= 0 {
                    owns = true
                    result = system_epoll_ctl(epoll, EPOLL_CTL_ADD, registered, events, token)
                }
            }
            if result != 0 || registered < 0 {
                let code = lastErrno
                if owns { PosixLockRegistry.closeLibraryDescriptor(registered) }
                s.entries[token] = nil
                // Regular files and directories cannot be polled: they are always ready.
                return code == EPERM ? .alwaysReady : .failed(code)
            }
            s.entries[token] = .waiting(continuation, registeredFD: registered, ownsFD: owns)
            return .registered
        }
        switch outcome {
        case .registered: break
        case .cancelled: continuation.resume(throwing: CancellationError())
        case .alwaysReady: continuation.resume()
        case .failed(let code):
            continuation.resume(throwing: IPCError(Errno(rawValue: code), operation: "epoll_ctl", object: IPCError.describe(fd: fd)))
        }
    }

    /// Completes the wait of `token` once; later calls for the same token do nothing.
    private func finish(_ token: UInt64, with result: Result<Void, any Error>) {
        let continuation = state.withSanitizedLock { s -> CheckedContinuation<Void, any Error>? in
            switch s.entries[token] {
            case .pending:
                s.entries[token] = .cancelledEarly
                return nil
            case .waiting(let c, let registeredFD, let ownsFD):
                s.entries[token] = nil
                // Deregister before resuming: once resumed, the owner may close the
                // descriptor and its number may be reused.
                _ = system_epoll_ctl(epoll, EPOLL_CTL_DEL, registeredFD, 0, 0)
                if ownsFD { PosixLockRegistry.closeLibraryDescriptor(registeredFD) }
                return c
            case .cancelledEarly, .none:
                return nil
            }
        }
        continuation?.resume(with: result)
    }

    private func startThread() throws(IPCError) {
        do {
            try LibraryThread.startDetached(name: "ipc-reactor") { [self] in run() }
        } catch {
            _ = system_close(epoll)
            var failure = error
            failure.detail = "the async reactor could not start"
            throw failure
        }
    }

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        while true {
            let count = system_epoll_wait(epoll, &tokens, &events, 64, -1)
            if count < 0 { continue }  // EINTR (no signal reaches this thread, but a debugger's can)
            for i in 0..<Int(count) {
                finish(tokens[i], with: .success(()))
            }
        }
    }
}

extension OwnedDescriptor {
    /// Suspends the task until the descriptor is ready for `readiness`, without
    /// blocking a thread of the cooperative pool. Throws `CancellationError` as soon
    /// as the task is cancelled. Hang-up and error conditions count as ready.
    public func waitAsync(for readiness: Readiness) async throws {
        try Task.checkCancellation()
        if isReady(rawValue, readiness) { return }
        try await Reactor.shared.waitAsync(rawValue, for: readiness)
    }
}
