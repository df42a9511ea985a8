// `import Interprocess` alone is enough to use the library: it re-exports the names
// its public API is written in, and nothing more.

// swift-system, the vocabulary of every signature: `FilePath`, `FilePermissions`,
// `Errno` (in every `IPCError`) and `FileDescriptor` (`OwnedDescriptor(adopting:)`).
@_exported import SystemPackage

#if canImport(Glibc)
// From the C library only the declarations the API is typed with or takes as
// values, one by one: re-exporting all of Glibc would put thousands of C names
// (`open`, `read`, `send`, `pipe`…) in scope of every file that imports this
// module, and make them part of its API. A program that calls the C library
// itself imports Glibc, as it would without this library.

// Process, user, group and thread ids; System V keys.
@_exported import typealias Glibc.pid_t
@_exported import typealias Glibc.uid_t
@_exported import typealias Glibc.gid_t
@_exported import typealias Glibc.key_t
@_exported import typealias Glibc.pthread_t

// Signal numbers, for `ChildProcess.signal(_:)`, `ChildProcessSet.signalAll(_:)`,
// `ChildStatus.signaled`, `PosixMessageQueue.Notification.signal` and
// `SemaphoreSignalPoster` (the realtime ones are C functions, not constants).
@_exported import var Glibc.SIGHUP
@_exported import var Glibc.SIGINT
@_exported import var Glibc.SIGQUIT
@_exported import var Glibc.SIGKILL
@_exported import var Glibc.SIGUSR1
@_exported import var Glibc.SIGUSR2
@_exported import var Glibc.SIGPIPE
@_exported import var Glibc.SIGALRM
@_exported import var Glibc.SIGTERM
@_exported import var Glibc.SIGCHLD
@_exported import var Glibc.SIGCONT
@_exported import var Glibc.SIGSTOP
@_exported import var Glibc.SIGTSTP
@_exported import var Glibc.SIGURG
#endif
