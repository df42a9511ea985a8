import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for the inventory of IPC objects (see Syscalls.swift for the
// pattern): reading directories and links under /proc and /dev/shm, and the
// private mount of the mqueue filesystem.

// MARK: directories and links

func system_opendir(_ path: UnsafePointer<CChar>) -> OpaquePointer? {
    if injected("opendir") { return nil }
    return Glibc.opendir(path)
}

/// The next entry, or nil at the end (errno unchanged) or on error (errno set).
func system_readdir(_ directory: OpaquePointer) -> UnsafeMutablePointer<dirent>? {
    Glibc.readdir(directory)
}

func system_closedir(_ directory: OpaquePointer) -> CInt {
    Glibc.closedir(directory)
}

func system_readlink(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> Int {
    if injected("readlink") { return -1 }
    return Glibc.readlink(path, buffer, size)
}

// MARK: mount namespaces

func system_unshare(_ flags: CInt) -> CInt {
    if injected("unshare") { return -1 }
    return cipc_unshare(flags)
}

func system_mount(_ source: UnsafePointer<CChar>?, _ target: UnsafePointer<CChar>, _ type: UnsafePointer<CChar>?, _ flags: UInt, _ data: UnsafeRawPointer?) -> CInt {
    if injected("mount") { return -1 }
    return cipc_mount(source, target, type, flags, data)
}

func system_umount2(_ target: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
    if injected("umount2") { return -1 }
    return cipc_umount2(target, flags)
}
