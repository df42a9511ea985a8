#if IPC_FAULT_INJECTION
import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Makes the syscall adapters fail on purpose, and records which system calls the
/// library made, for tests of error paths and of what an operation costs.
///
/// Every adapter in `Core/Syscalls*.swift` passes through this hook (`adapter`), on
/// whatever thread it runs: the caller's, the reactor's or a waiting engine's. A
/// `Scope` says which calls a fault or a recording applies to, so tests running in
/// parallel do not see each other's faults. Compiled into debug builds only (the
/// `IPC_FAULT_INJECTION` condition); release builds carry no check at all.
public enum FaultInjection {
    /// Which calls a fault or a recording applies to.
    public struct Scope: Sendable {
        fileprivate var thread: pthread_t?
        fileprivate var subject: Int?
        fileprivate var libraryThreadsOnly = false

        /// Calls made by the thread that arms the fault or starts the recording
        /// (not by the library's own threads). The default.
        public static var currentThread: Scope { Scope(thread: pthread_self(), subject: nil) }

        /// Calls on one object, from any thread (the library's threads included):
        /// a descriptor, a POSIX queue descriptor, a System V queue, set or segment
        /// id. Safe beside parallel tests, whose objects are others.
        public static func anyThread(object: CInt) -> Scope { Scope(thread: nil, subject: Int(object)) }

        /// Calls on one object made by the library's own threads only (the reactor,
        /// the waiting threads; see `LibraryThread`), not by the program's.
        public static func libraryThreads(object: CInt) -> Scope {
            Scope(thread: nil, subject: Int(object), libraryThreadsOnly: true)
        }

        /// Calls on the object at `address` made by the library's own threads only.
        public static func libraryThreads(address: UnsafeRawPointer) -> Scope {
            Scope(thread: nil, subject: Int(bitPattern: address), libraryThreadsOnly: true)
        }

        /// Calls on the object at `address` (a semaphore, a futex word), from any thread.
        public static func anyThread(address: UnsafeRawPointer) -> Scope {
            Scope(thread: nil, subject: Int(bitPattern: address))
        }

        /// Every call of the named system call in the process, from any thread.
        /// Only for a test that runs alone on that call (`.serialized` and no
        /// other suite making it).
        public static var anyThreadAnyObject: Scope { Scope(thread: nil, subject: nil) }

        fileprivate func matches(_ thread: pthread_t, _ subject: Int?) -> Bool {
            if let mine = self.thread, pthread_equal(mine, thread) == 0 { return false }
            if let mine = self.subject, mine != subject { return false }
            if libraryThreadsOnly && cipc_library_thread_is_marked() == 0 { return false }
            return true
        }
    }

    /// One system call an adapter made (or failed on purpose), as the call log keeps it.
    public struct Call: Sendable, Equatable, CustomStringConvertible {
        /// The C function, as the adapters name it (`mq_timedreceive`, `msgrcv`…).
        public var syscall: String
        /// The object it applied to (descriptor, id, address), when the adapter knows one.
        public var object: Int?
        /// The C result, summarised: the integer it returned, or for a pointer 0
        /// (success) or -1 (failure).
        public var result: Int
        /// The errno it failed with; nil when it succeeded.
        public var errno: CInt?
        /// True when the failure was injected (the kernel was not called).
        public var injected: Bool
        /// True when one of the library's own threads made the call.
        public var onLibraryThread: Bool

        public var description: String {
            var text = syscall + "(" + (object.map(String.init) ?? "") + ") = \(result)"
            if let errno { text += " errno \(errno)" }
            if injected { text += " [injected]" }
            if onLibraryThread { text += " [library thread]" }
            return text
        }
    }

    private struct Fault {
        var token: Int
        var scope: Scope
        var syscall: String
        var errno: CInt
        var remaining: Int
    }

    private struct Recording {
        var token: Int
        var scope: Scope
        var calls: [Call] = []
    }

    private struct State {
        var nextToken = 0
        var faults: [Fault] = []
        var recordings: [Recording] = []
    }

    /// Faults plus recordings armed: the adapters' fast path is one relaxed load.
    private static let armedCount = Atomic<Int>(0)
    private static let state = Mutex(State())

    // MARK: faults

    /// Makes the next `count` calls of `syscall` in `scope` fail with `errno` while
    /// `body` runs.
    public static func inject<T, E: Error>(
        _ errno: CInt, into syscall: String, count: Int = 1, scope: Scope = .currentThread,
        during body: () throws(E) -> T
    ) throws(E) -> T {
        let token = arm(Fault(token: 0, scope: scope, syscall: syscall, errno: errno, remaining: count))
        defer { disarmFault(token) }
        return try body()
    }

    /// The async form: `scope` must not be `.currentThread` (a task may resume on
    /// another thread); scope the fault to the object the test owns.
    public static func inject<T, E: Error>(
        _ errno: CInt, into syscall: String, count: Int = 1, scope: Scope,
        during body: () async throws(E) -> T
    ) async throws(E) -> T {
        precondition(scope.thread == nil, "an async body needs an object scope")
        let token = arm(Fault(token: 0, scope: scope, syscall: syscall, errno: errno, remaining: count))
        defer { disarmFault(token) }
        return try await body()
    }

    private static func arm(_ fault: Fault) -> Int {
        let token = state.withSanitizedLock { s in
            s.nextToken += 1
            var fault = fault
            fault.token = s.nextToken
            s.faults.append(fault)
            return s.nextToken
        }
        armedCount.add(1, ordering: .sequentiallyConsistent)
        return token
    }

    private static func disarmFault(_ token: Int) {
        state.withSanitizedLock { $0.faults.removeAll { $0.token == token } }
        armedCount.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// The errno to fail this call of `syscall` with, if a fault in scope is armed for it.
    @inline(__always)
    static func take(_ syscall: StaticString, _ subject: Int?) -> CInt? {
        guard armedCount.load(ordering: .relaxed) > 0 else { return nil }
        return takeSlow(syscall.description, subject)
    }

    private static func takeSlow(_ syscall: String, _ subject: Int?) -> CInt? {
        let me = pthread_self()
        return state.withSanitizedLock { s in
            guard let i = s.faults.firstIndex(where: {
                $0.syscall == syscall && $0.remaining > 0 && $0.scope.matches(me, subject)
            }) else { return nil }
            s.faults[i].remaining -= 1
            return s.faults[i].errno
        }
    }

    // MARK: the call log

    /// Runs `body` and returns, beside its result, every system call the library
    /// made in `scope` meanwhile, in order.
    public static func recordingCalls<T, E: Error>(
        scope: Scope = .currentThread, during body: () throws(E) -> T
    ) throws(E) -> (result: T, calls: [Call]) {
        let token = startRecording(scope)
        do throws(E) {
            let result = try body()
            return (result, stopRecording(token))
        } catch {
            _ = stopRecording(token)
            throw error
        }
    }

    /// The async form: `scope` must not be `.currentThread`.
    public static func recordingCalls<T, E: Error>(
        scope: Scope, during body: () async throws(E) -> T
    ) async throws(E) -> (result: T, calls: [Call]) {
        precondition(scope.thread == nil, "an async body needs an object scope")
        let token = startRecording(scope)
        do throws(E) {
            let result = try await body()
            return (result, stopRecording(token))
        } catch {
            _ = stopRecording(token)
            throw error
        }
    }

    private static func startRecording(_ scope: Scope) -> Int {
        let token = state.withSanitizedLock { s in
            s.nextToken += 1
            s.recordings.append(Recording(token: s.nextToken, scope: scope))
            return s.nextToken
        }
        armedCount.add(1, ordering: .sequentiallyConsistent)
        return token
    }

    private static func stopRecording(_ token: Int) -> [Call] {
        let calls = state.withSanitizedLock { s in
            s.recordings.firstIndex { $0.token == token }.map { s.recordings.remove(at: $0).calls } ?? []
        }
        armedCount.subtract(1, ordering: .sequentiallyConsistent)
        return calls
    }

    /// Adds one call to every recording whose scope it is in.
    @inline(__always)
    static func log<R>(_ syscall: StaticString, _ subject: Int?, result: R, failed: Bool, errno: CInt, injected: Bool) {
        guard armedCount.load(ordering: .relaxed) > 0 else { return }
        logSlow(syscall.description, subject, summarise(result, failed: failed), failed ? errno : nil, injected)
    }

    private static func summarise<R>(_ result: R, failed: Bool) -> Int {
        if let value = result as? any BinaryInteger { return Int(truncatingIfNeeded: value) }
        return failed ? -1 : 0
    }

    private static func logSlow(_ syscall: String, _ subject: Int?, _ result: Int, _ errno: CInt?, _ injected: Bool) {
        let me = pthread_self()
        let onLibraryThread = cipc_library_thread_is_marked() != 0
        state.withSanitizedLock { s in
            for i in s.recordings.indices where s.recordings[i].scope.matches(me, subject) {
                s.recordings[i].calls.append(Call(syscall: syscall, object: subject, result: result, errno: errno, injected: injected, onLibraryThread: onLibraryThread))
            }
        }
    }
}
#endif
