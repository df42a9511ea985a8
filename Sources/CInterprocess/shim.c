#define _GNU_SOURCE
#include "CInterprocess.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <stdio.h>

const char *cipc_errno_name(int code) { return strerrorname_np(code); }
const char *cipc_errno_description(int code) { return strerrordesc_np(code); }

int cipc_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int cipc_fcntl_void(int fd, int cmd) { return fcntl(fd, cmd); }
int cipc_fcntl_lock(int fd, int cmd, cipc_flock *lock) { return fcntl(fd, cmd, lock); }
int cipc_flock_file(int fd, int operation) { return flock(fd, operation); }
_Static_assert(F_OFD_GETLK == CIPC_F_OFD_GETLK && F_OFD_SETLK == CIPC_F_OFD_SETLK && F_OFD_SETLKW == CIPC_F_OFD_SETLKW,
               "F_OFD_* differ from <fcntl.h>");
int cipc_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
int cipc_openat(int dirfd, const char *path, int flags, mode_t mode) {
    return openat(dirfd, path, flags, mode);
}

int cipc_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
int cipc_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
int cipc_p_pidfd(void) { return P_PIDFD; }

int cipc_waitid(idtype_t idtype, id_t id, int options, cipc_child_event *event) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r = waitid(idtype, id, &info, options);
    if (r != 0) return r;
    event->pid = info.si_pid;
    event->uid = info.si_uid;
    event->code = info.si_code;
    event->status = info.si_status;
    return 0;
}

int cipc_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
int cipc_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int cipc_sigrtmin(void) { return SIGRTMIN; }
int cipc_sigrtmax(void) { return SIGRTMAX; }

size_t cipc_rights_space(size_t count) { return CMSG_SPACE(sizeof(int) * count); }

void cipc_rights_pack(void *control, const int *fds, size_t count) {
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    memset(control, 0, msg.msg_controllen);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
}

size_t cipc_rights_unpack(const struct msghdr *msg, int *out, size_t capacity) {
    size_t found = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
         c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(c);
        for (size_t i = 0; i < n; i++, found++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof(int));
            if (found < capacity) out[found] = fd;
            else close(fd);
        }
    }
    return found;
}

int cipc_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int cipc_pass_credentials(int fd, int on) {
    return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
}

ssize_t cipc_receive_with_credentials(int fd, void *buffer, size_t length, int flags, pid_t *pid, uid_t *uid, gid_t *gid) {
    union { char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } control;
    struct iovec iov = { .iov_base = buffer, .iov_len = length };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;
    *pid = 0;
    ssize_t received = recvmsg(fd, &msg, flags | MSG_TRUNC | MSG_CMSG_CLOEXEC);
    if (received < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *pid = cred.pid;
            *uid = cred.uid;
            *gid = cred.gid;
        } else if (c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n; i++) {
                int extra;
                memcpy(&extra, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                close(extra);
            }
        }
    }
    return received;
}

size_t cipc_sun_path_offset(void) { return offsetof(struct sockaddr_un, sun_path); }
size_t cipc_sun_path_capacity(void) { return sizeof(((struct sockaddr_un *)0)->sun_path); }

int cipc_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}

int cipc_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event evs[64];
    if (capacity > 64) capacity = 64;
    int n = epoll_wait(epfd, evs, capacity, timeout_ms);
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

int cipc_wifexited(int status) { return WIFEXITED(status); }
int cipc_wexitstatus(int status) { return WEXITSTATUS(status); }
int cipc_wifsignaled(int status) { return WIFSIGNALED(status); }
int cipc_wtermsig(int status) { return WTERMSIG(status); }
int cipc_wcoredump(int status) { return WCOREDUMP(status); }
int cipc_wifstopped(int status) { return WIFSTOPPED(status); }
int cipc_wstopsig(int status) { return WSTOPSIG(status); }
int cipc_wifcontinued(int status) { return WIFCONTINUED(status); }

int cipc_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cipc_ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout) {
    return ppoll(fds, count, timeout, NULL);
}
int cipc_renameat2(int from_dir, const char *from, int to_dir, const char *to, unsigned int flags) {
    return renameat2(from_dir, from, to_dir, to, flags);
}
int cipc_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}
int cipc_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

pid_t cipc_gettid(void) { return gettid(); }
