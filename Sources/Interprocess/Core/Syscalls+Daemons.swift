import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for daemons, pid files and syslog senders (SPEC P3, P4, P5), same
// pattern as Syscalls.swift: one adapter per C function, raw C result, errno left set.

// MARK: daemons

/// Never fails: returns the previous mask.
func system_umask(_ mask: mode_t) -> mode_t { Glibc.umask(mask) }

func system_getsid(_ pid: pid_t) -> pid_t {
    adapter("getsid", on: Int(pid), failure: -1) { Glibc.getsid(pid) }
}

func system_getpgid(_ pid: pid_t) -> pid_t {
    adapter("getpgid", on: Int(pid), failure: -1) { Glibc.getpgid(pid) }
}

// MARK: pid files (ftruncate: Syscalls+Memory.swift)

func system_pwrite(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ offset: off_t) -> Int {
    adapter("pwrite", on: Int(fd), failure: -1) { Glibc.pwrite(fd, buffer, count, offset) }
}

// MARK: syslog senders

/// 0 or an `EAI_*` code (getaddrinfo does not set errno, except for `EAI_SYSTEM`).
func system_getaddrinfo(_ host: UnsafePointer<CChar>?, _ service: UnsafePointer<CChar>?, _ hints: UnsafePointer<addrinfo>?,
                        _ result: UnsafeMutablePointer<UnsafeMutablePointer<addrinfo>?>) -> CInt {
    Glibc.getaddrinfo(host, service, hints, result)
}

func system_gethostname(_ buffer: UnsafeMutablePointer<CChar>, _ length: Int) -> CInt {
    adapter("gethostname", failure: -1) { Glibc.gethostname(buffer, length) }
}
