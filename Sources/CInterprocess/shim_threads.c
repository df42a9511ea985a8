#define _GNU_SOURCE
#include "CInterprocessThreads.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// MARK: interruption signal

static struct sigaction interrupt_previous;
static _Atomic int interrupt_signal;
static _Atomic uint64_t interrupt_forwarded_count;
static _Atomic uint64_t interrupt_library_count;
static _Thread_local volatile sig_atomic_t interrupt_expected;

static void interrupt_handler(int signal, siginfo_t *info, void *context) {
    int saved = errno;
    // Ours: pthread_kill from this process (SI_TKILL) to a thread waiting for it.
    int ours = interrupt_expected && info && info->si_code == SI_TKILL && info->si_pid == getpid();
    if (ours) {
        atomic_fetch_add(&interrupt_library_count, 1);
    } else {
        atomic_fetch_add(&interrupt_forwarded_count, 1);
        if (interrupt_previous.sa_flags & SA_SIGINFO) {
            interrupt_previous.sa_sigaction(signal, info, context);
        } else if (interrupt_previous.sa_handler != SIG_DFL && interrupt_previous.sa_handler != SIG_IGN) {
            interrupt_previous.sa_handler(signal);
        }
        // SIG_DFL or SIG_IGN: SIGURG's default action is to ignore it.
    }
    errno = saved;
}

int cipc_interrupt_handler_install(int signal) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (atomic_load(&interrupt_signal) == 0) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = interrupt_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_SIGINFO;  // no SA_RESTART: a blocked call must return EINTR
        rc = sigaction(signal, &action, &interrupt_previous);
        if (rc == 0) atomic_store(&interrupt_signal, signal);
    } else if (atomic_load(&interrupt_signal) != signal) {
        errno = EINVAL;
        rc = -1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void cipc_interrupt_expected(int expected) { interrupt_expected = expected; }

uint64_t cipc_interrupt_forwarded(void) { return atomic_load(&interrupt_forwarded_count); }

uint64_t cipc_interrupt_library(void) { return atomic_load(&interrupt_library_count); }

// MARK: thread creation

void cipc_library_thread_mask(sigset_t *mask) {
    sigfillset(mask);
    static const int synchronous[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
    for (unsigned i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++) sigdelset(mask, synchronous[i]);
}

// MARK: futex

int cipc_futex_wait(uint32_t *word, uint32_t value, const struct timespec *deadline) {
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, value, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? 0 : -1;
}

int cipc_futex_wake(uint32_t *word, int count) {
    long rc = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
    return (int)rc;
}

// MARK: membarrier

int cipc_membarrier_query(void) { return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0); }
int cipc_membarrier_register_global_expedited(void) {
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
}
int cipc_membarrier_global_expedited(void) { return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0); }
int cipc_membarrier_cmd_global_expedited(void) { return MEMBARRIER_CMD_GLOBAL_EXPEDITED; }

// MARK: thread names

int cipc_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int cipc_thread_attributes(size_t *stack_size, int *detached) {
    pthread_attr_t attributes;
    int rc = pthread_getattr_np(pthread_self(), &attributes);
    if (rc != 0) return rc;
    int state = PTHREAD_CREATE_JOINABLE;
    rc = pthread_attr_getstacksize(&attributes, stack_size);
    if (rc == 0) rc = pthread_attr_getdetachstate(&attributes, &state);
    *detached = state == PTHREAD_CREATE_DETACHED;
    pthread_attr_destroy(&attributes);
    return rc;
}

// MARK: signalfd

#include <sys/signalfd.h>

int cipc_signalfd(int fd, const sigset_t *mask, int flags) { return signalfd(fd, mask, flags); }

int32_t cipc_signalfd_value(const void *info) { return ((const struct signalfd_siginfo *)info)->ssi_int; }

// MARK: thread sanitizer annotations

// Weak: resolved only in a build with -sanitize=thread, whose runtime defines them.
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

void cipc_sanitizer_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}

void cipc_sanitizer_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}
