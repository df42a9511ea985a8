import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// One adapter per system call. Each is the only place the library calls that
// function, so fault injection (debug builds) and EINTR policy live here.
// Adapters return the raw C result and leave `errno` set; callers turn a failure
// into an `IPCError` with the object they know about.

/// Whether a fault is injected into this call of `name` (debug builds); if so,
/// `errno` is set and the adapter returns failure without calling the kernel.
/// Every `Syscalls*.swift` file uses this one hook.
@inline(__always)
func injected(_ name: StaticString) -> Bool {
    #if IPC_FAULT_INJECTION
    if let code = FaultInjection.take(name) {
        Glibc.errno = code
        return true
    }
    #endif
    return false
}

/// Calls `body` again while it fails with EINTR.
@inline(__always)
func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result != -1 || Glibc.errno != EINTR { return result }
    }
}

// MARK: descriptors

func system_open(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    if injected("open") { return -1 }
    return cipc_open(path, flags, mode)
}

func system_openat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    if injected("openat") { return -1 }
    return cipc_openat(dir, path, flags, mode)
}

func system_close(_ fd: CInt) -> CInt {
    if injected("close") { return -1 }
    return Glibc.close(fd)
}

@inline(__always)
func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    if injected("read") { return -1 }
    return Glibc.read(fd, buffer, count)
}

@inline(__always)
func system_write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    if injected("write") { return -1 }
    return Glibc.write(fd, buffer, count)
}

func system_fcntl(_ fd: CInt, _ command: CInt, _ argument: CInt) -> CInt {
    if injected("fcntl") { return -1 }
    return cipc_fcntl_int(fd, command, argument)
}

func system_fcntl(_ fd: CInt, _ command: CInt) -> CInt {
    if injected("fcntl") { return -1 }
    return cipc_fcntl_void(fd, command)
}

func system_pipe2(_ fds: UnsafeMutablePointer<CInt>, _ flags: CInt) -> CInt {
    if injected("pipe2") { return -1 }
    return cipc_pipe2(fds, flags)
}

func system_ppoll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeout: UnsafePointer<timespec>?) -> CInt {
    if injected("ppoll") { return -1 }
    return cipc_ppoll(fds, nfds_t(count), timeout)
}

// MARK: files

func system_mkfifoat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ mode: mode_t) -> CInt {
    if injected("mkfifoat") { return -1 }
    return Glibc.mkfifoat(dir, path, mode)
}

func system_unlinkat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
    if injected("unlinkat") { return -1 }
    return Glibc.unlinkat(dir, path, flags)
}

func system_fstatat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ info: UnsafeMutablePointer<stat>, _ flags: CInt) -> CInt {
    if injected("fstatat") { return -1 }
    return Glibc.fstatat(dir, path, info, flags)
}

func system_linkat(_ fromDir: CInt, _ from: UnsafePointer<CChar>, _ toDir: CInt, _ to: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
    if injected("linkat") { return -1 }
    return Glibc.linkat(fromDir, from, toDir, to, flags)
}

func system_fstat(_ fd: CInt, _ info: UnsafeMutablePointer<stat>) -> CInt {
    if injected("fstat") { return -1 }
    return Glibc.fstat(fd, info)
}

func system_fchmod(_ fd: CInt, _ mode: mode_t) -> CInt {
    if injected("fchmod") { return -1 }
    return Glibc.fchmod(fd, mode)
}

func system_fchmodat(_ dir: CInt, _ path: UnsafePointer<CChar>, _ mode: mode_t) -> CInt {
    if injected("fchmodat") { return -1 }
    return Glibc.fchmodat(dir, path, mode, 0)
}

func system_renameat2(_ fromDir: CInt, _ from: UnsafePointer<CChar>, _ toDir: CInt, _ to: UnsafePointer<CChar>, _ flags: CUnsignedInt) -> CInt {
    if injected("renameat2") { return -1 }
    return cipc_renameat2(fromDir, from, toDir, to, flags)
}

func system_mkdtemp(_ template: UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<CChar>? {
    if injected("mkdtemp") { return nil }
    return Glibc.mkdtemp(template)
}

func system_rmdir(_ path: UnsafePointer<CChar>) -> CInt {
    if injected("rmdir") { return -1 }
    return Glibc.rmdir(path)
}

// MARK: sockets

func system_socket(_ domain: CInt, _ type: CInt, _ proto: CInt) -> CInt {
    if injected("socket") { return -1 }
    return Glibc.socket(domain, type, proto)
}

func system_socketpair(_ domain: CInt, _ type: CInt, _ proto: CInt, _ fds: UnsafeMutablePointer<CInt>) -> CInt {
    if injected("socketpair") { return -1 }
    return Glibc.socketpair(domain, type, proto, fds)
}

func system_bind(_ fd: CInt, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> CInt {
    if injected("bind") { return -1 }
    return Glibc.bind(fd, address, length)
}

func system_listen(_ fd: CInt, _ backlog: CInt) -> CInt {
    if injected("listen") { return -1 }
    return Glibc.listen(fd, backlog)
}

func system_accept4(_ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, _ flags: CInt) -> CInt {
    if injected("accept4") { return -1 }
    return cipc_accept4(fd, address, length, flags)
}

func system_connect(_ fd: CInt, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> CInt {
    if injected("connect") { return -1 }
    return Glibc.connect(fd, address, length)
}

@inline(__always)
func system_send(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: CInt) -> Int {
    if injected("send") { return -1 }
    return Glibc.send(fd, buffer, count, flags)
}

@inline(__always)
func system_recv(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ flags: CInt) -> Int {
    if injected("recv") { return -1 }
    return Glibc.recv(fd, buffer, count, flags)
}

func system_sendmsg(_ fd: CInt, _ message: UnsafePointer<msghdr>, _ flags: CInt) -> Int {
    if injected("sendmsg") { return -1 }
    return Glibc.sendmsg(fd, message, flags)
}

func system_recvmsg(_ fd: CInt, _ message: UnsafeMutablePointer<msghdr>, _ flags: CInt) -> Int {
    if injected("recvmsg") { return -1 }
    return Glibc.recvmsg(fd, message, flags)
}

func system_shutdown(_ fd: CInt, _ how: CInt) -> CInt {
    if injected("shutdown") { return -1 }
    return Glibc.shutdown(fd, how)
}

func system_peerCredentials(_ fd: CInt, _ pid: inout pid_t, _ uid: inout uid_t, _ gid: inout gid_t) -> CInt {
    if injected("getsockopt") { return -1 }
    return cipc_peer_credentials(fd, &pid, &uid, &gid)
}

// MARK: processes

func system_posix_spawn(
    _ pid: UnsafeMutablePointer<pid_t>, _ path: UnsafePointer<CChar>,
    _ actions: UnsafePointer<posix_spawn_file_actions_t>, _ attributes: UnsafePointer<posix_spawnattr_t>,
    _ argv: UnsafePointer<UnsafeMutablePointer<CChar>?>, _ envp: UnsafePointer<UnsafeMutablePointer<CChar>?>,
    searchPath: Bool
) -> CInt {
    if injected("posix_spawn") { return Glibc.errno }
    if searchPath { return Glibc.posix_spawnp(pid, path, actions, attributes, argv, envp) }
    return Glibc.posix_spawn(pid, path, actions, attributes, argv, envp)
}

func system_waitid(_ type: idtype_t, _ id: id_t, _ options: CInt, _ event: inout cipc_child_event) -> CInt {
    if injected("waitid") { return -1 }
    return cipc_waitid(type, id, options, &event)
}

func system_pidfd_open(_ pid: pid_t) -> CInt {
    if injected("pidfd_open") { return -1 }
    return cipc_pidfd_open(pid, 0)
}

func system_pidfd_send_signal(_ pidfd: CInt, _ signal: CInt) -> CInt {
    if injected("pidfd_send_signal") { return -1 }
    return cipc_pidfd_send_signal(pidfd, signal)
}

// MARK: event notification

func system_epoll_create1(_ flags: CInt) -> CInt {
    if injected("epoll_create1") { return -1 }
    return epoll_create1(flags)
}

func system_epoll_ctl(_ epoll: CInt, _ op: CInt, _ fd: CInt, _ events: UInt32, _ token: UInt64) -> CInt {
    if injected("epoll_ctl") { return -1 }
    return cipc_epoll_ctl(epoll, op, fd, events, token)
}

func system_epoll_wait(_ epoll: CInt, _ tokens: UnsafeMutablePointer<UInt64>, _ events: UnsafeMutablePointer<UInt32>, _ capacity: CInt, _ timeout: CInt) -> CInt {
    cipc_epoll_wait(epoll, tokens, events, capacity, timeout)
}

func system_eventfd(_ initial: CUnsignedInt, _ flags: CInt) -> CInt {
    if injected("eventfd") { return -1 }
    return eventfd(initial, flags)
}

// MARK: limits

func system_sysconf(_ name: CInt) -> Int {
    Glibc.sysconf(name)
}

func system_fpathconf(_ fd: CInt, _ name: CInt) -> Int {
    Glibc.fpathconf(fd, name)
}

func system_getrlimit(_ resource: __rlimit_resource_t, _ limit: UnsafeMutablePointer<rlimit>) -> CInt {
    if injected("getrlimit") { return -1 }
    return Glibc.getrlimit(resource, limit)
}

func system_setrlimit(_ resource: __rlimit_resource_t, _ limit: UnsafePointer<rlimit>) -> CInt {
    if injected("setrlimit") { return -1 }
    return Glibc.setrlimit(resource, limit)
}
