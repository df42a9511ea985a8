import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for the inventory of IPC objects (see Syscalls.swift for the
// pattern): reading directories and links under /proc and /dev/shm, and the
// private mount of the mqueue filesystem.

// MARK: directories and links

func system_opendir(_ path: UnsafePointer<CChar>) -> OpaquePointer? {
    adapter("opendir", failure: nil) { Glibc.opendir(path) }
}

/// The next entry, or nil at the end (`lastErrno` 0) or on error (`lastErrno` set).
func system_readdir(_ directory: OpaquePointer) -> UnsafeMutablePointer<dirent>? {
    adapter("readdir", failure: nil) { Glibc.errno = 0; return Glibc.readdir(directory) }
}

func system_closedir(_ directory: OpaquePointer) -> CInt {
    adapter("closedir", failure: -1) { Glibc.closedir(directory) }
}

func system_readlink(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> Int {
    adapter("readlink", failure: -1) { Glibc.readlink(path, buffer, size) }
}

// MARK: mount namespaces

func system_unshare(_ flags: CInt) -> CInt {
    adapter("unshare", failure: -1) { cipc_unshare(flags) }
}

func system_mount(_ source: UnsafePointer<CChar>?, _ target: UnsafePointer<CChar>, _ type: UnsafePointer<CChar>?, _ flags: UInt, _ data: UnsafeRawPointer?) -> CInt {
    adapter("mount", failure: -1) { cipc_mount(source, target, type, flags, data) }
}

func system_umount2(_ target: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
    adapter("umount2", failure: -1) { cipc_umount2(target, flags) }
}
