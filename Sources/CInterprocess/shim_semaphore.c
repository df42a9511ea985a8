#define _GNU_SOURCE
#include "CInterprocessMemory.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// POSIX semaphore operations over glibc's own layout and protocol (64-bit
// `struct new_sem`, nptl/sem_post.c and nptl/sem_waitcommon.c), so the library's
// semaphores work with any C program's sem_* on the same memory — but hardened
// for memory another process can write: glibc aborts the process when the futex
// call fails unexpectedly (a garbage `private` word makes a garbage futex
// operation), and uses a value above SEM_VALUE_MAX as if it were one. Here every
// operation reads `private` once, accepts only the two values glibc writes, builds
// the futex operation from that checked copy, and turns every failure into -1 and
// errno: EINVAL for a word that is not a semaphore's.

typedef struct {
    uint64_t data;   // value in the low 32 bits (little-endian), waiters in the high 32
    int private;     // 0: private to the process; FUTEX_PRIVATE_FLAG (128): process-shared
    int pad;
} checked_sem;

#define NWAITERS_SHIFT 32
#define VALUE_MASK ((uint64_t)UINT32_MAX)
#define ONE_WAITER ((uint64_t)1 << NWAITERS_SHIFT)

_Static_assert(sizeof(checked_sem) <= sizeof(sem_t), "the semaphore must fit sem_t");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the value is the low word of data");

/// The futex flag for the semaphore's own `private` word, or -1 (EINVAL) when the
/// word is neither value glibc writes.
static int futex_flag(checked_sem *sem) {
    int private = __atomic_load_n(&sem->private, __ATOMIC_RELAXED);
    if (private == 0) return FUTEX_PRIVATE_FLAG;
    if (private == FUTEX_PRIVATE_FLAG) return 0;
    errno = EINVAL;
    return -1;
}

static int value_is_valid(uint64_t data) {
    if ((data & VALUE_MASK) > (uint64_t)SEM_VALUE_MAX) {
        errno = EINVAL;
        return 0;
    }
    return 1;
}

static uint32_t *value_word(checked_sem *sem) { return (uint32_t *)&sem->data; }

int cipc_sem_post_checked(sem_t *handle) {
    checked_sem *sem = (checked_sem *)handle;
    int flag = futex_flag(sem);
    if (flag < 0) return -1;
    uint64_t data = __atomic_load_n(&sem->data, __ATOMIC_RELAXED);
    do {
        if (!value_is_valid(data)) return -1;
        if ((data & VALUE_MASK) == SEM_VALUE_MAX) {
            errno = EOVERFLOW;
            return -1;
        }
    } while (!__atomic_compare_exchange_n(&sem->data, &data, data + 1, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
    if ((data >> NWAITERS_SHIFT) > 0) {
        // Errors of a wake change nothing for the poster: the value is posted.
        syscall(SYS_futex, value_word(sem), FUTEX_WAKE | flag, 1, NULL, NULL, 0);
    }
    return 0;
}

int cipc_sem_trywait_checked(sem_t *handle) {
    checked_sem *sem = (checked_sem *)handle;
    if (futex_flag(sem) < 0) return -1;
    uint64_t data = __atomic_load_n(&sem->data, __ATOMIC_RELAXED);
    do {
        if (!value_is_valid(data)) return -1;
        if ((data & VALUE_MASK) == 0) {
            errno = EAGAIN;
            return -1;
        }
    } while (!__atomic_compare_exchange_n(&sem->data, &data, data - 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    return 0;
}

/// Sleeps while the value word is 0, until `deadline` (absolute CLOCK_MONOTONIC)
/// or for ever when it is NULL. 0 when woken or the value changed; else errno.
static int futex_wait_zero(checked_sem *sem, int flag, const struct timespec *deadline) {
    long rc;
    if (deadline) {
        rc = syscall(SYS_futex, value_word(sem), FUTEX_WAIT_BITSET | flag, 0, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    } else {
        rc = syscall(SYS_futex, value_word(sem), FUTEX_WAIT | flag, 0, NULL, NULL, 0);
    }
    if (rc == 0 || errno == EAGAIN) return 0;
    return errno;
}

int cipc_sem_wait_checked(sem_t *handle, const struct timespec *deadline) {
    checked_sem *sem = (checked_sem *)handle;
    if (cipc_sem_trywait_checked(handle) == 0) return 0;
    if (errno != EAGAIN) return -1;
    if (deadline && (deadline->tv_nsec < 0 || deadline->tv_nsec >= 1000000000 || deadline->tv_sec < 0)) {
        errno = EINVAL;
        return -1;
    }
    int flag = futex_flag(sem);
    if (flag < 0) return -1;
    // Registered as a waiter, so a post wakes the futex (glibc's slow path).
    uint64_t data = __atomic_fetch_add(&sem->data, ONE_WAITER, __ATOMIC_RELAXED);
    for (;;) {
        if (!value_is_valid(data)) break;
        if ((data & VALUE_MASK) == 0) {
            int code = futex_wait_zero(sem, flag, deadline);
            if (code != 0) {
                errno = code;
                break;
            }
            data = __atomic_load_n(&sem->data, __ATOMIC_RELAXED);
        } else if (__atomic_compare_exchange_n(&sem->data, &data, data - 1 - ONE_WAITER, 1,
                                               __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return 0;
        }
    }
    int code = errno;
    __atomic_fetch_sub(&sem->data, ONE_WAITER, __ATOMIC_RELAXED);
    errno = code;
    return -1;
}

int cipc_sem_getvalue_checked(sem_t *handle, int *value) {
    checked_sem *sem = (checked_sem *)handle;
    if (futex_flag(sem) < 0) return -1;
    uint64_t data = __atomic_load_n(&sem->data, __ATOMIC_RELAXED);
    if (!value_is_valid(data)) return -1;
    *value = (int)(data & VALUE_MASK);
    return 0;
}

int cipc_o_tmpfile(void) { return O_TMPFILE; }
