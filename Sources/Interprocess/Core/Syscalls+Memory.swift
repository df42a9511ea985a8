import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for shared memory, mappings and POSIX semaphores (see Syscalls.swift for
// the pattern: one adapter per call, through `adapter`).

// MARK: shared memory objects

func system_shm_open(_ name: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    adapter("shm_open", failure: -1) { Glibc.shm_open(name, flags, mode) }
}

func system_shm_unlink(_ name: UnsafePointer<CChar>) -> CInt {
    adapter("shm_unlink", failure: -1) { Glibc.shm_unlink(name) }
}

func system_memfd_create(_ name: UnsafePointer<CChar>, _ flags: CUnsignedInt) -> CInt {
    adapter("memfd_create", failure: -1) { cipc_memfd_create(name, flags) }
}

func system_ftruncate(_ fd: CInt, _ length: off_t) -> CInt {
    adapter("ftruncate", on: Int(fd), failure: -1) { Glibc.ftruncate(fd, length) }
}

func system_fstatvfs(_ fd: CInt, _ info: UnsafeMutablePointer<statvfs>) -> CInt {
    adapter("fstatvfs", on: Int(fd), failure: -1) { Glibc.fstatvfs(fd, info) }
}

// MARK: mappings

/// nil on failure (MAP_FAILED), with errno set.
func system_mmap(_ address: UnsafeMutableRawPointer?, _ length: Int, _ protection: CInt, _ flags: CInt, _ fd: CInt, _ offset: off_t) -> UnsafeMutableRawPointer? {
    adapter("mmap", on: Int(fd), failure: nil) {
        let result = Glibc.mmap(address, length, protection, flags, fd, offset)
        return result == cipc_map_failed() ? nil : result
    }
}

func system_munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> CInt {
    adapter("munmap", on: Int(bitPattern: address), failure: -1) { Glibc.munmap(address, length) }
}

/// nil on failure (MAP_FAILED), with errno set.
func system_mremap(_ address: UnsafeMutableRawPointer, _ oldLength: Int, _ newLength: Int, _ flags: CInt) -> UnsafeMutableRawPointer? {
    adapter("mremap", on: Int(bitPattern: address), failure: nil) {
        let result = cipc_mremap(address, oldLength, newLength, flags)
        return result == cipc_map_failed() ? nil : result
    }
}

func system_msync(_ address: UnsafeMutableRawPointer, _ length: Int, _ flags: CInt) -> CInt {
    adapter("msync", on: Int(bitPattern: address), failure: -1) { Glibc.msync(address, length, flags) }
}

func system_mprotect(_ address: UnsafeMutableRawPointer, _ length: Int, _ protection: CInt) -> CInt {
    adapter("mprotect", on: Int(bitPattern: address), failure: -1) { Glibc.mprotect(address, length, protection) }
}

// MARK: semaphores
//
// Named semaphores are opened and created by the library itself
// (`NamedSemaphoreFile`), as glibc's `sem_open` does. The operations run the
// library's hardened implementation of glibc's protocol (shim_semaphore.c): a
// semaphore whose memory another process overwrote is EINVAL, never an abort.

func system_sem_unlink(_ name: UnsafePointer<CChar>) -> CInt {
    adapter("sem_unlink", failure: -1) { Glibc.sem_unlink(name) }
}

func system_sem_init(_ sem: UnsafeMutablePointer<sem_t>, _ shared: CInt, _ value: CUnsignedInt) -> CInt {
    adapter("sem_init", on: Int(bitPattern: sem), failure: -1) { Glibc.sem_init(sem, shared, value) }
}

func system_sem_destroy(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    adapter("sem_destroy", on: Int(bitPattern: sem), failure: -1) { Glibc.sem_destroy(sem) }
}

@inline(__always)
func system_sem_wait(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    adapter("sem_wait", on: Int(bitPattern: sem), failure: -1) { cipc_sem_wait_checked(sem, nil) }
}

@inline(__always)
func system_sem_trywait(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    adapter("sem_trywait", on: Int(bitPattern: sem), failure: -1) { cipc_sem_trywait_checked(sem) }
}

/// `sem_clockwait` on `CLOCK_MONOTONIC`.
func system_sem_clockwait(_ sem: UnsafeMutablePointer<sem_t>, _ deadline: UnsafePointer<timespec>) -> CInt {
    adapter("sem_clockwait", on: Int(bitPattern: sem), failure: -1) { cipc_sem_wait_checked(sem, deadline) }
}

@inline(__always)
func system_sem_post(_ sem: UnsafeMutablePointer<sem_t>) -> CInt {
    adapter("sem_post", on: Int(bitPattern: sem), failure: -1) { cipc_sem_post_checked(sem) }
}

func system_sem_getvalue(_ sem: UnsafeMutablePointer<sem_t>, _ value: UnsafeMutablePointer<CInt>) -> CInt {
    adapter("sem_getvalue", on: Int(bitPattern: sem), failure: -1) { cipc_sem_getvalue_checked(sem, value) }
}

// MARK: seals (channels, SPEC M5)

/// `fcntl(fd, F_ADD_SEALS, seals)`.
func system_add_seals(_ fd: CInt, _ seals: CInt) -> CInt {
    adapter("fcntl", on: Int(fd), failure: -1) { cipc_fcntl_int(fd, cipc_f_add_seals(), seals) }
}

/// `fcntl(fd, F_GET_SEALS)`: the seals, or -1 (`EINVAL` for a file that is not a memfd).
func system_get_seals(_ fd: CInt) -> CInt {
    adapter("fcntl", on: Int(fd), failure: -1) { cipc_fcntl_void(fd, cipc_f_get_seals()) }
}
