/// The C shim of swift-interprocess: only what Swift cannot call directly —
/// function-like macros, variadic functions, GNU extensions behind _GNU_SOURCE,
/// and union fields of kernel structures. Everything else is called from Swift.
#ifndef C_INTERPROCESS_H
#define C_INTERPROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <spawn.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>

#include "CInterprocessSockets.h"
#include "CInterprocessMessages.h"
#include "CInterprocessMemory.h"
#include "CInterprocessSystemV.h"
#include "CInterprocessInspection.h"
#include "CInterprocessThreads.h"
#include "CInterprocessSignals.h"
#include "CInterprocessErrno.h"

// MARK: errno names

/// The symbolic name of an errno value ("EEXIST"), or NULL. `strerrorname_np`.
const char *cipc_errno_name(int code);
/// The description of an errno value ("File exists"). `strerrordesc_np`.
const char *cipc_errno_description(int code);

// MARK: fcntl / open (variadic in C)

int cipc_fcntl_int(int fd, int cmd, int arg);
int cipc_fcntl_void(int fd, int cmd);
int cipc_open(const char *path, int flags, mode_t mode);
int cipc_openat(int dirfd, const char *path, int flags, mode_t mode);

// MARK: record locks (SPEC Y8)

/// `struct flock` under a name Swift does not confuse with the `flock` function.
typedef struct flock cipc_flock;
/// `fcntl(fd, cmd, lock)` for F_GETLK/F_SETLK/F_SETLKW and their F_OFD_ forms.
int cipc_fcntl_lock(int fd, int cmd, cipc_flock *lock);
/// `flock(2)`, which Swift's Glibc module shadows with `struct flock`.
int cipc_flock_file(int fd, int operation);
/// The open-file-description lock commands (Linux 3.15), visible here without
/// _GNU_SOURCE; shim.c checks them against <fcntl.h>.
enum { CIPC_F_OFD_GETLK = 36, CIPC_F_OFD_SETLK = 37, CIPC_F_OFD_SETLKW = 38 };

// MARK: GNU extensions Swift's Glibc module does not declare

int cipc_pipe2(int fds[2], int flags);
int cipc_ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout);
int cipc_renameat2(int from_dir, const char *from, int to_dir, const char *to, unsigned int flags);
int cipc_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
/// The calling thread's id (`gettid`).
pid_t cipc_gettid(void);
/// The calling thread's id, fetched once per thread (forgotten in a forked child).
pid_t cipc_cached_tid(void);
/// This process's id, fetched once (forgotten in a forked child).
pid_t cipc_cached_pid(void);

// MARK: processes

/// `pidfd_open(2)` through `syscall(2)`.
int cipc_pidfd_open(pid_t pid, unsigned int flags);
/// `pidfd_send_signal(2)` through `syscall(2)`.
int cipc_pidfd_send_signal(int pidfd, int sig);
/// The fields of `siginfo_t` that `waitid(2)` fills in for a child.
typedef struct {
    pid_t pid;
    uid_t uid;
    int code;    /* CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_TRAPPED, CLD_CONTINUED */
    int status;  /* exit status or signal number */
} cipc_child_event;
/// `waitid(idtype, id, &info, options)`; returns 0 and sets `event->pid` to 0 when
/// WNOHANG found nothing.
int cipc_waitid(idtype_t idtype, id_t id, int options, cipc_child_event *event);
/// `P_PIDFD` (Linux 5.4), which older headers do not define.
int cipc_p_pidfd(void);
int cipc_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
/// `POSIX_SPAWN_SETSID` (a GNU extension).
int cipc_spawn_setsid_flag(void);
int cipc_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

// MARK: signals

int cipc_sigrtmin(void);
int cipc_sigrtmax(void);

// MARK: sockets: SCM_RIGHTS and peer credentials

/// Space for a control message carrying `count` descriptors (`CMSG_SPACE`).
size_t cipc_rights_space(size_t count);
/// Fills `control` (of `cipc_rights_space(count)` bytes) with an SCM_RIGHTS message.
void cipc_rights_pack(void *control, const int *fds, size_t count);
/// Walks the control messages of `msg`, copying SCM_RIGHTS descriptors into `out`
/// (room for `capacity`); returns how many were found (may exceed capacity: the
/// caller closes those it cannot keep with `cipc_rights_close_extra`).
size_t cipc_rights_unpack(const struct msghdr *msg, int *out, size_t capacity);
/// `SO_PEERCRED`.
int cipc_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/// `setsockopt(fd, SOL_SOCKET, SO_PASSCRED, on)`: the kernel attaches the sender's
/// credentials (SCM_CREDENTIALS) to every message this socket receives.
int cipc_pass_credentials(int fd, int on);
/// `recvmsg` of one message into `buffer`, with the SCM_CREDENTIALS the kernel
/// attached: `*pid` is 0 when none came. Descriptors that came along are closed.
/// Returns the message's length (`MSG_TRUNC`: maybe more than `length`), or -1.
ssize_t cipc_receive_with_credentials(int fd, void *buffer, size_t length, int flags, pid_t *pid, uid_t *uid, gid_t *gid);
/// Offset of `sun_path` and its capacity.
size_t cipc_sun_path_offset(void);
size_t cipc_sun_path_capacity(void);

// MARK: epoll

/// `epoll_ctl` with the event's data as one 64-bit token (the struct is packed on x86-64).
int cipc_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// `epoll_wait`, copying events into parallel arrays.
int cipc_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms);

// MARK: wait status macros (for statuses from system()/pclose-style APIs)
int cipc_wifexited(int status);
int cipc_wexitstatus(int status);
int cipc_wifsignaled(int status);
int cipc_wtermsig(int status);
int cipc_wcoredump(int status);
int cipc_wifstopped(int status);
int cipc_wstopsig(int status);
int cipc_wifcontinued(int status);

#endif
