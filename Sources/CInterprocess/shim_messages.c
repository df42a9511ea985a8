#define _GNU_SOURCE
#include "CInterprocessMessages.h"

#include "CInterprocessThreads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

mqd_t cipc_mq_open(const char *name, int flags, mode_t mode, const struct mq_attr *attributes) {
    if (flags & O_CREAT) return mq_open(name, flags, mode, (struct mq_attr *)attributes);
    return mq_open(name, flags);
}

int cipc_mq_notify_signal(mqd_t queue, int signo, int value) {
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = signo;
    event.sigev_value.sival_int = value;
    return mq_notify(queue, &event);
}

// Every registration passes the same Swift function; it is kept here because the
// notification carries only one pointer-sized value (the token).
static _Atomic(cipc_mq_notify_callback) thread_callback;

// glibc starts this thread (SIGEV_THREAD), not the library: it gets the library
// threads' name prefix and signal mask here, before the callback runs.
static void thread_trampoline(union sigval value) {
    sigset_t mask;
    cipc_library_thread_mask(&mask);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    pthread_setname_np(pthread_self(), "ipc-mq-notify");
    cipc_mq_notify_callback callback = atomic_load(&thread_callback);
    if (callback) callback((uint64_t)(uintptr_t)value.sival_ptr);
}

int cipc_mq_notify_thread(mqd_t queue, cipc_mq_notify_callback callback, uint64_t token) {
    atomic_store(&thread_callback, callback);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD;
    event.sigev_notify_function = thread_trampoline;
    event.sigev_notify_attributes = NULL;
    event.sigev_value.sival_ptr = (void *)(uintptr_t)token;
    return mq_notify(queue, &event);
}

int cipc_mq_notify_remove(mqd_t queue) { return mq_notify(queue, NULL); }
