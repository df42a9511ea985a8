import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Socket adapters that `Syscalls.swift` does not have, same pattern: one adapter
// per system call, raw C result, `errno` left set, fault injection in debug builds.

func system_getsockopt(_ fd: CInt, _ level: CInt, _ name: CInt, _ value: UnsafeMutableRawPointer, _ length: UnsafeMutablePointer<socklen_t>) -> CInt {
    adapter("getsockopt", on: Int(fd), failure: -1) { Glibc.getsockopt(fd, level, name, value, length) }
}

func system_setsockopt(_ fd: CInt, _ level: CInt, _ name: CInt, _ value: UnsafeRawPointer, _ length: socklen_t) -> CInt {
    adapter("setsockopt", on: Int(fd), failure: -1) { Glibc.setsockopt(fd, level, name, value, length) }
}

func system_getsockname(_ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> CInt {
    adapter("getsockname", on: Int(fd), failure: -1) { Glibc.getsockname(fd, address, length) }
}

func system_getpeername(_ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> CInt {
    adapter("getpeername", on: Int(fd), failure: -1) { Glibc.getpeername(fd, address, length) }
}

func system_passCredentials(_ fd: CInt, _ on: Bool) -> CInt {
    adapter("setsockopt", on: Int(fd), failure: -1) { cipc_pass_credentials(fd, on ? 1 : 0) }
}

func system_receiveWithCredentials(
    _ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ length: Int, _ flags: CInt,
    _ pid: UnsafeMutablePointer<pid_t>, _ uid: UnsafeMutablePointer<uid_t>, _ gid: UnsafeMutablePointer<gid_t>
) -> Int {
    adapter("recvmsg", on: Int(fd), failure: -1) { cipc_receive_with_credentials(fd, buffer, length, flags, pid, uid, gid) }
}
