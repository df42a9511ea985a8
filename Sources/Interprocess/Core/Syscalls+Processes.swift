import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for processes, signals and sleeping (see Syscalls.swift for the pattern:
// one adapter per C function, through `adapter`, errno captured there).

// MARK: processes

func system_kill(_ pid: pid_t, _ signal: CInt) -> CInt {
    adapter("kill", on: Int(pid), failure: -1) { Glibc.kill(pid, signal) }
}

func system_waitpid(_ pid: pid_t, _ status: UnsafeMutablePointer<CInt>?, _ options: CInt) -> pid_t {
    adapter("waitpid", on: Int(pid), failure: -1) { Glibc.waitpid(pid, status, options) }
}

/// Sleeps for `duration`; -1 with EINTR when a signal handler ran (`remaining` then
/// holds what was left).
func system_nanosleep(_ duration: UnsafePointer<timespec>, _ remaining: UnsafeMutablePointer<timespec>?) -> CInt {
    adapter("nanosleep", failure: -1) { Glibc.nanosleep(duration, remaining) }
}

// MARK: signals

func system_sigaction(_ signal: CInt, _ action: UnsafePointer<sigaction>?, _ previous: UnsafeMutablePointer<sigaction>?) -> CInt {
    adapter("sigaction", on: Int(signal), failure: -1) { sigaction(signal, action, previous) }
}

/// 0 or the error number (pthread_sigmask does not set errno).
func system_pthread_sigmask(_ how: CInt, _ set: UnsafePointer<sigset_t>?, _ previous: UnsafeMutablePointer<sigset_t>?) -> CInt {
    errorNumberAdapter("pthread_sigmask") { pthread_sigmask(how, set, previous) }
}

/// 0 or the error number.
func system_pthread_kill(_ thread: pthread_t, _ signal: CInt) -> CInt {
    errorNumberAdapter("pthread_kill", on: Int(signal)) { pthread_kill(thread, signal) }
}

// MARK: spawn file actions and attributes
//
// Each returns 0 or the error number (they do not set errno): ENOMEM, or EBADF for
// a descriptor out of range. `Spawn.start` checks every one.

func system_posix_spawn_file_actions_init(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>) -> CInt {
    errorNumberAdapter("posix_spawn_file_actions_init") { posix_spawn_file_actions_init(actions) }
}

func system_posix_spawn_file_actions_destroy(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>) -> CInt {
    errorNumberAdapter("posix_spawn_file_actions_destroy") { posix_spawn_file_actions_destroy(actions) }
}

func system_posix_spawn_file_actions_adddup2(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: CInt, _ target: CInt) -> CInt {
    errorNumberAdapter("posix_spawn_file_actions_adddup2", on: Int(fd)) { posix_spawn_file_actions_adddup2(actions, fd, target) }
}

func system_posix_spawn_file_actions_addclose(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: CInt) -> CInt {
    errorNumberAdapter("posix_spawn_file_actions_addclose", on: Int(fd)) { posix_spawn_file_actions_addclose(actions, fd) }
}

func system_posix_spawn_file_actions_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: CInt) -> CInt {
    errorNumberAdapter("posix_spawn_file_actions_addclosefrom_np", on: Int(from)) { cipc_spawn_addclosefrom(actions, from) }
}

func system_posix_spawn_file_actions_addchdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> CInt {
    errorNumberAdapter("posix_spawn_file_actions_addchdir_np") { cipc_spawn_addchdir(actions, path) }
}

func system_posix_spawnattr_init(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>) -> CInt {
    errorNumberAdapter("posix_spawnattr_init") { posix_spawnattr_init(attributes) }
}

func system_posix_spawnattr_destroy(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>) -> CInt {
    errorNumberAdapter("posix_spawnattr_destroy") { posix_spawnattr_destroy(attributes) }
}

func system_posix_spawnattr_setsigmask(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>, _ mask: UnsafePointer<sigset_t>) -> CInt {
    errorNumberAdapter("posix_spawnattr_setsigmask") { posix_spawnattr_setsigmask(attributes, mask) }
}

func system_posix_spawnattr_setsigdefault(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>, _ signals: UnsafePointer<sigset_t>) -> CInt {
    errorNumberAdapter("posix_spawnattr_setsigdefault") { posix_spawnattr_setsigdefault(attributes, signals) }
}

func system_posix_spawnattr_setpgroup(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>, _ group: pid_t) -> CInt {
    errorNumberAdapter("posix_spawnattr_setpgroup", on: Int(group)) { posix_spawnattr_setpgroup(attributes, group) }
}

func system_posix_spawnattr_setflags(_ attributes: UnsafeMutablePointer<posix_spawnattr_t>, _ flags: Int16) -> CInt {
    errorNumberAdapter("posix_spawnattr_setflags") { posix_spawnattr_setflags(attributes, flags) }
}

// MARK: threads

/// 0 or the error number.
func system_pthread_join(_ thread: pthread_t) -> CInt {
    errorNumberAdapter("pthread_join") { pthread_join(thread, nil) }
}

/// 0 or the error number.
func system_pthread_detach(_ thread: pthread_t) -> CInt {
    errorNumberAdapter("pthread_detach") { pthread_detach(thread) }
}
