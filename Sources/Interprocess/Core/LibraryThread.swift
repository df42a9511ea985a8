import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

// Stand-in for helper A2's `LibraryThread` (branch a2-threads), with the same
// names; replaced by A2's file at the merge.
public enum LibraryThread {
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(IPCError) -> pthread_t {
        final class Start {
            let name: String, body: @Sendable () -> Void
            init(_ name: String, _ body: @escaping @Sendable () -> Void) { self.name = name; self.body = body }
        }
        var mask = sigset_t()
        sigfillset(&mask)
        var creatorMask = sigset_t()
        pthread_sigmask(SIG_SETMASK, &mask, &creatorMask)
        let box = Unmanaged.passRetained(Start(name, body))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            let comm = Glibc.open("/proc/thread-self/comm", O_WRONLY)
            if comm >= 0 {
                _ = start.name.withCString { Glibc.write(comm, $0, strlen($0)) }
                Glibc.close(comm)
            }
            start.body()
            return nil
        }, box.toOpaque())
        pthread_sigmask(SIG_SETMASK, &creatorMask, nil)
        if rc != 0 {
            box.release()
            throw IPCError(Errno(rawValue: rc), operation: "pthread_create", object: "thread \(name)")
        }
        return thread
    }

    public static func startDetached(name: String, _ body: @escaping @Sendable () -> Void) throws(IPCError) {
        pthread_detach(try start(name: name, body))
    }

    public static func join(_ thread: pthread_t) { _ = pthread_join(thread, nil) }

    public static func afterForkInChild(_ reset: @escaping @Sendable () -> Void) {}
}
