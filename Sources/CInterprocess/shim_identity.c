#define _GNU_SOURCE
#include "CInterprocess.h"

#include <pthread.h>
#include <unistd.h>

// The calling thread's id and the process id, each fetched by a system call once
// and then kept: a lock's hot path needs them on every lock and unlock, and glibc
// (2.25 and later) caches neither for callers. A forked child is a new process
// whose only thread is a new thread, so the child forgets both (pthread_atfork).

static __thread pid_t cached_tid;
static pid_t cached_pid;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void forget_after_fork(void) {
    cached_tid = 0;
    __atomic_store_n(&cached_pid, 0, __ATOMIC_RELAXED);
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_after_fork); }

pid_t cipc_cached_tid(void) {
    pid_t tid = cached_tid;
    if (__builtin_expect(tid == 0, 0)) {
        pthread_once(&fork_handler_once, register_fork_handler);
        tid = gettid();
        cached_tid = tid;
    }
    return tid;
}

pid_t cipc_cached_pid(void) {
    pid_t pid = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
    if (__builtin_expect(pid == 0, 0)) {
        pthread_once(&fork_handler_once, register_fork_handler);
        pid = getpid();
        __atomic_store_n(&cached_pid, pid, __ATOMIC_RELAXED);
    }
    return pid;
}
