#define _GNU_SOURCE
#include "CInterprocessThreads.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// MARK: futex_waitv (Linux 5.16)

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449  // the same number on x86_64 and arm64
#endif

// The kernel's struct futex_waitv (linux/futex.h, 5.16), spelt out so older
// headers still build.
struct cipc_futex_waitv_entry {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

#define CIPC_FUTEX2_SIZE_U32 0x02  // shared: no FUTEX2_PRIVATE

int cipc_futex_waitv(uint32_t *const *words, const uint32_t *values, unsigned count, const struct timespec *deadline) {
    if (count == 0 || count > CIPC_FUTEX_WAITV_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct cipc_futex_waitv_entry entries[CIPC_FUTEX_WAITV_MAX];
    memset(entries, 0, sizeof entries);
    for (unsigned i = 0; i < count; i++) {
        entries[i].val = values[i];
        entries[i].uaddr = (uint64_t)(uintptr_t)words[i];
        entries[i].flags = CIPC_FUTEX2_SIZE_U32;
    }
    long rc = syscall(SYS_futex_waitv, entries, count, 0, deadline, CLOCK_MONOTONIC);
    return rc < 0 ? -1 : (int)rc;
}

// MARK: is a thread alive

int cipc_thread_alive(int32_t pid, int32_t tid) {
    if (pid <= 0 || tid <= 0) return 0;
    if (syscall(SYS_tgkill, pid, tid, 0) != 0) {
        if (errno == ESRCH) return 0;
        if (errno != EPERM) return -1;  // EPERM: it exists, someone else's
    }
    // A thread group leader that died stays a zombie until its parent reaps it,
    // and tgkill still finds it: read its state.
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : 1;
    char text[512];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 1;
    text[n] = 0;
    char *end = strrchr(text, ')');  // the command name may hold ')'
    if (!end || end[1] != ' ') return 1;
    char state = end[2];
    return state == 'Z' || state == 'X' || state == 'x' ? 0 : 1;
}
