import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for shared memory, mappings and POSIX semaphores (see Syscalls.swift for
// the pattern: one adapter per call, the `injected` hook, errno left set).

// MARK: shared memory objects

func system_shm_open(_ name: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    if injected("shm_open") { return -1 }
    return Glibc.shm_open(name, flags, mode)
}

func system_shm_unlink(_ name: UnsafePointer<CChar>) -> CInt {
    if injected("shm_unlink") { return -1 }
    return Glibc.shm_unlink(name)
}

func system_memfd_create(_ name: UnsafePointer<CChar>, _ flags: CUnsignedInt) -> CInt {
    if injected("memfd_create") { return -1 }
    return cipc_memfd_create(name, flags)
}

func system_ftruncate(_ fd: CInt, _ length: off_t) -> CInt {
    if injected("ftruncate") { return -1 }
    return Glibc.ftruncate(fd, length)
}

func system_fstatvfs(_ fd: CInt, _ info: UnsafeMutablePointer<statvfs>) -> CInt {
    if injected("fstatvfs") { return -1 }
    return Glibc.fstatvfs(fd, info)
}

// MARK: mappings

/// nil on failure (MAP_FAILED), with errno set.
func system_mmap(_ address: UnsafeMutableRawPointer?, _ length: Int, _ protection: CInt, _ flags: CInt, _ fd: CInt, _ offset: off_t) -> UnsafeMutableRawPointer? {
    if injected("mmap") { return nil }
    let result = Glibc.mmap(address, length, protection, flags, fd, offset)
    return result == cipc_map_failed() ? nil : result
}

func system_munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> CInt {
    if injected("munmap") { return -1 }
    return Glibc.munmap(address, length)
}

/// nil on failure (MAP_FAILED), with errno set.
func system_mremap(_ address: UnsafeMutableRawPointer, _ oldLength: Int, _ newLength: Int, _ flags: CInt) -> UnsafeMutableRawPointer? {
    if injected("mremap") { return nil }
    let result = cipc_mremap(address, oldLength, newLength, flags)
    return result == cipc_map_failed() ? nil : result
}

func system_msync(_ address: UnsafeMutableRawPointer, _ length: Int, _ flags: CInt) -> CInt {
    if injected("msync") { return -1 }
    return Glibc.msync(address, length, flags)
}

func system_mprotect(_ address: UnsafeMutableRawPointer, _ length: Int, _ protection: CInt) -> CInt {
    if injected("mprotect") { return -1 }
    return Glibc.mprotect(address, length, protection)
}

// MARK: semaphores
//
// Named semaphores are opened and created by the library itself
// (`NamedSemaphoreFile`), as glibc's `sem_open` does. The operations run the
// library's hardened implementation of glibc's protocol (shim_semaphore.c): a
// semaphore whose memory another process overwrote is EINVAL, never an abort.

func system_sem_unlink(_ name: UnsafePointer<CChar>) -> CInt {
    if injected("sem_unlink") { return -1 }
    return Glibc.sem_unlink(name)
}

func system_sem_init(_ sem: UnsafeMutablePointer<sem_t>, _ shared: CInt, _ value: CUnsignedInt) -> CInt {
    if injected("sem_init") { return -1 }
    return Glibc.sem_init(sem, shared, value)
}

func system_sem_destroy(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    if injected("sem_destroy") { return -1 }
    return Glibc.sem_destroy(sem)
}

@inline(__always)
func system_sem_wait(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    if injected("sem_wait") { return -1 }
    return cipc_sem_wait_checked(sem, nil)
}

@inline(__always)
func system_sem_trywait(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    if injected("sem_trywait") { return -1 }
    return cipc_sem_trywait_checked(sem)
}

/// `sem_clockwait` on `CLOCK_MONOTONIC`.
func system_sem_clockwait(_ sem: UnsafeMutablePointer<sem_t>, _ deadline: UnsafePointer<timespec>) -> CInt {
    if injected("sem_clockwait") { return -1 }
    return cipc_sem_wait_checked(sem, deadline)
}

@inline(__always)
func system_sem_post(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    if injected("sem_post") { return -1 }
    return cipc_sem_post_checked(sem)
}

func system_sem_getvalue(_ sem: UnsafeMutablePointer<sem_t>, _ value: UnsafeMutablePointer<CInt>) -> CInt {
    if injected("sem_getvalue") { return -1 }
    return cipc_sem_getvalue_checked(sem, value)
}
