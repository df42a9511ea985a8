import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// One adapter per system call. Each is the only place the library calls that
// function, so fault injection and the call log (debug builds), errno capture and
// EINTR policy live here. Adapters return the raw C result; callers turn a failure
// into an `IPCError` with the object they know about, reading the errno the
// adapter captured (`lastErrno`, `IPCError.last`), never `errno` itself.

/// Runs one system call: a fault armed for it (debug builds) fails it without
/// calling the kernel; otherwise `call` runs and its `errno` is captured at once
/// (`cipc_errno_capture`), so nothing between the call and the caller's error
/// report can clobber it. `subject` is the object the call applies to (descriptor,
/// queue or set id, address of a semaphore or futex word): faults and the call log
/// can be scoped to it (`FaultInjection.Scope`). `failure` is the C result that
/// means the call failed.
@inline(__always)
func adapter<R: Equatable>(_ name: StaticString, on subject: Int? = nil, failure: R, _ call: () -> R) -> R {
    #if IPC_FAULT_INJECTION
    if let code = FaultInjection.take(name, subject) {
        cipc_errno_set_captured(code)
        FaultInjection.log(name, subject, result: failure, failed: true, errno: code, injected: true)
        return failure
    }
    #endif
    let result = call()
    let code = cipc_errno_capture()
    #if IPC_FAULT_INJECTION
    FaultInjection.log(name, subject, result: result, failed: result == failure, errno: code, injected: false)
    #endif
    return result
}

/// `adapter` for the calls that return an error number instead of setting errno
/// (`pthread_*`, `posix_spawn*`): 0 or the error number, which is also captured as
/// this thread's errno.
@inline(__always)
func errorNumberAdapter(_ name: StaticString, on subject: Int? = nil, _ call: () -> CInt) -> CInt {
    #if IPC_FAULT_INJECTION
    if let code = FaultInjection.take(name, subject) {
        cipc_errno_set_captured(code)
        FaultInjection.log(name, subject, result: code, failed: true, errno: code, injected: true)
        return code
    }
    #endif
    let result = call()
    if result != 0 { cipc_errno_set_captured(result) }
    #if IPC_FAULT_INJECTION
    FaultInjection.log(name, subject, result: result, failed: result != 0, errno: result, injected: false)
    #endif
    return result
}

/// The errno of this thread's last system call made through an adapter, captured
/// right after it.
var lastErrno: CInt { cipc_errno_captured() }

/// Calls `body` again while it fails with EINTR.
@inline(__always)
func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result != -1 || lastErrno != EINTR { return result }
    }
}

// MARK: descriptors

func system_open(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    adapter("open", failure: -1) { cipc_open(path, flags, mode) }
}

func system_openat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    adapter("openat", on: Int(dir), failure: -1) { cipc_openat(dir, path, flags, mode) }
}

func system_close(_ fd: CInt) -> CInt {
    adapter("close", on: Int(fd), failure: -1) { Glibc.close(fd) }
}

@inline(__always)
func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    adapter("read", on: Int(fd), failure: -1) { Glibc.read(fd, buffer, count) }
}

@inline(__always)
func system_write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    adapter("write", on: Int(fd), failure: -1) { Glibc.write(fd, buffer, count) }
}

func system_fcntl(_ fd: CInt, _ command: CInt, _ argument: CInt) -> CInt {
    adapter("fcntl", on: Int(fd), failure: -1) { cipc_fcntl_int(fd, command, argument) }
}

func system_fcntl(_ fd: CInt, _ command: CInt) -> CInt {
    adapter("fcntl", on: Int(fd), failure: -1) { cipc_fcntl_void(fd, command) }
}

func system_pipe2(_ fds: UnsafeMutablePointer<CInt>, _ flags: CInt) -> CInt {
    adapter("pipe2", failure: -1) { cipc_pipe2(fds, flags) }
}

func system_ppoll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeout: UnsafePointer<timespec>?) -> CInt {
    adapter("ppoll", on: count > 0 ? Int(fds[0].fd) : nil, failure: -1) { cipc_ppoll(fds, nfds_t(count), timeout) }
}

// MARK: files

func system_mkfifoat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ mode: mode_t) -> CInt {
    adapter("mkfifoat", on: Int(dir), failure: -1) { Glibc.mkfifoat(dir, path, mode) }
}

func system_unlinkat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
    adapter("unlinkat", on: Int(dir), failure: -1) { Glibc.unlinkat(dir, path, flags) }
}

func system_fstatat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ info: UnsafeMutablePointer<stat>, _ flags: CInt) -> CInt {
    adapter("fstatat", on: Int(dir), failure: -1) { Glibc.fstatat(dir, path, info, flags) }
}

func system_linkat(_ fromDir: CInt, _ from: UnsafePointer<CChar>, _ toDir: CInt, _ to: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
    adapter("linkat", on: Int(fromDir), failure: -1) { Glibc.linkat(fromDir, from, toDir, to, flags) }
}

func system_fstat(_ fd: CInt, _ info: UnsafeMutablePointer<stat>) -> CInt {
    adapter("fstat", on: Int(fd), failure: -1) { Glibc.fstat(fd, info) }
}

func system_fchmod(_ fd: CInt, _ mode: mode_t) -> CInt {
    adapter("fchmod", on: Int(fd), failure: -1) { Glibc.fchmod(fd, mode) }
}

func system_fchmodat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ mode: mode_t) -> CInt {
    adapter("fchmodat", on: Int(dir), failure: -1) { Glibc.fchmodat(dir, path, mode, 0) }
}

func system_renameat2(_ fromDir: CInt, _ from: UnsafePointer<CChar>, _ toDir: CInt, _ to: UnsafePointer<CChar>, _ flags: CUnsignedInt) -> CInt {
    adapter("renameat2", on: Int(fromDir), failure: -1) { cipc_renameat2(fromDir, from, toDir, to, flags) }
}

func system_mkdtemp(_ template: UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<CChar>? {
    adapter("mkdtemp", failure: nil) { Glibc.mkdtemp(template) }
}

func system_rmdir(_ path: UnsafePointer<CChar>) -> CInt {
    adapter("rmdir", failure: -1) { Glibc.rmdir(path) }
}

// MARK: sockets

func system_socket(_ domain: CInt, _ type: CInt, _ proto: CInt) -> CInt {
    adapter("socket", failure: -1) { Glibc.socket(domain, type, proto) }
}

func system_socketpair(_ domain: CInt, _ type: CInt, _ proto: CInt, _ fds: UnsafeMutablePointer<CInt>) -> CInt {
    adapter("socketpair", failure: -1) { Glibc.socketpair(domain, type, proto, fds) }
}

func system_bind(_ fd: CInt, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> CInt {
    adapter("bind", on: Int(fd), failure: -1) { Glibc.bind(fd, address, length) }
}

func system_listen(_ fd: CInt, _ backlog: CInt) -> CInt {
    adapter("listen", on: Int(fd), failure: -1) { Glibc.listen(fd, backlog) }
}

func system_accept4(_ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, _ flags: CInt) -> CInt {
    adapter("accept4", on: Int(fd), failure: -1) { cipc_accept4(fd, address, length, flags) }
}

func system_connect(_ fd: CInt, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> CInt {
    adapter("connect", on: Int(fd), failure: -1) { Glibc.connect(fd, address, length) }
}

@inline(__always)
func system_send(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: CInt) -> Int {
    adapter("send", on: Int(fd), failure: -1) { Glibc.send(fd, buffer, count, flags) }
}

@inline(__always)
func system_recv(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ flags: CInt) -> Int {
    adapter("recv", on: Int(fd), failure: -1) { Glibc.recv(fd, buffer, count, flags) }
}

func system_sendmsg(_ fd: CInt, _ message: UnsafePointer<msghdr>, _ flags: CInt) -> Int {
    adapter("sendmsg", on: Int(fd), failure: -1) { Glibc.sendmsg(fd, message, flags) }
}

func system_recvmsg(_ fd: CInt, _ message: UnsafeMutablePointer<msghdr>, _ flags: CInt) -> Int {
    adapter("recvmsg", on: Int(fd), failure: -1) { Glibc.recvmsg(fd, message, flags) }
}

func system_shutdown(_ fd: CInt, _ how: CInt) -> CInt {
    adapter("shutdown", on: Int(fd), failure: -1) { Glibc.shutdown(fd, how) }
}

func system_peerCredentials(_ fd: CInt, _ pid: inout pid_t, _ uid: inout uid_t, _ gid: inout gid_t) -> CInt {
    adapter("getsockopt", on: Int(fd), failure: -1) { cipc_peer_credentials(fd, &pid, &uid, &gid) }
}

// MARK: processes

func system_posix_spawn(
    _ pid: UnsafeMutablePointer<pid_t>, _ path: UnsafePointer<CChar>,
    _ actions: UnsafePointer<posix_spawn_file_actions_t>, _ attributes: UnsafePointer<posix_spawnattr_t>,
    _ argv: UnsafePointer<UnsafeMutablePointer<CChar>?>, _ envp: UnsafePointer<UnsafeMutablePointer<CChar>?>,
    searchPath: Bool
) -> CInt {
    errorNumberAdapter("posix_spawn") {
        searchPath ? Glibc.posix_spawnp(pid, path, actions, attributes, argv, envp)
            : Glibc.posix_spawn(pid, path, actions, attributes, argv, envp)
    }
}

func system_waitid(_ type: idtype_t, _ id: id_t, _ options: CInt, _ event: inout cipc_child_event) -> CInt {
    adapter("waitid", on: Int(id), failure: -1) { cipc_waitid(type, id, options, &event) }
}

func system_pidfd_open(_ pid: pid_t) -> CInt {
    adapter("pidfd_open", on: Int(pid), failure: -1) { cipc_pidfd_open(pid, 0) }
}

func system_pidfd_send_signal(_ pidfd: CInt, _ signal: CInt) -> CInt {
    adapter("pidfd_send_signal", on: Int(pidfd), failure: -1) { cipc_pidfd_send_signal(pidfd, signal) }
}

// MARK: event notification

func system_epoll_create1(_ flags: CInt) -> CInt {
    adapter("epoll_create1", failure: -1) { epoll_create1(flags) }
}

func system_epoll_ctl(_ epoll: CInt, _ op: CInt, _ fd: CInt, _ events: UInt32, _ token: UInt64) -> CInt {
    adapter("epoll_ctl", on: Int(fd), failure: -1) { cipc_epoll_ctl(epoll, op, fd, events, token) }
}

func system_epoll_wait(_ epoll: CInt, _ tokens: UnsafeMutablePointer<UInt64>, _ events: UnsafeMutablePointer<UInt32>, _ capacity: CInt, _ timeout: CInt) -> CInt {
    adapter("epoll_wait", on: Int(epoll), failure: -1) { cipc_epoll_wait(epoll, tokens, events, capacity, timeout) }
}

func system_eventfd(_ initial: CUnsignedInt, _ flags: CInt) -> CInt {
    adapter("eventfd", failure: -1) { eventfd(initial, flags) }
}

// MARK: limits

/// -1 with `lastErrno` 0: no fixed limit; -1 with `lastErrno` set: failed.
func system_sysconf(_ name: CInt) -> Int {
    adapter("sysconf", failure: -1) { Glibc.errno = 0; return Glibc.sysconf(name) }
}

/// -1 with `lastErrno` 0: no fixed limit; -1 with `lastErrno` set: failed.
func system_fpathconf(_ fd: CInt, _ name: CInt) -> Int {
    adapter("fpathconf", on: Int(fd), failure: -1) { Glibc.errno = 0; return Glibc.fpathconf(fd, name) }
}

func system_getrlimit(_ resource: __rlimit_resource_t, _ limit: UnsafeMutablePointer<rlimit>) -> CInt {
    adapter("getrlimit", failure: -1) { Glibc.getrlimit(resource, limit) }
}

func system_setrlimit(_ resource: __rlimit_resource_t, _ limit: UnsafePointer<rlimit>) -> CInt {
    adapter("setrlimit", failure: -1) { Glibc.setrlimit(resource, limit) }
}
