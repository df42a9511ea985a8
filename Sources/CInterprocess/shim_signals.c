#define _GNU_SOURCE
#include "CInterprocessSignals.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

// The actions the program had before the library took each signal over; written
// under `watch_lock` before the library's handler is installed, read afterwards.
static struct sigaction previous[NSIG];
static _Atomic int watched[NSIG];
static _Atomic int forward_fd = -1;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;

// The signals `cipc_signal_block_in_this_thread` blocked in this thread.
static _Thread_local sigset_t blocked_here;
static _Thread_local int blocked_here_used;

static int is_function(const struct sigaction *action) {
    return action->sa_handler != SIG_DFL && action->sa_handler != SIG_IGN;
}

static void call_handler(const struct sigaction *action, int signal, siginfo_t *info, void *context) {
    if (action->sa_flags & SA_SIGINFO) {
        action->sa_sigaction(signal, info, context);
    } else {
        action->sa_handler(signal);
    }
}

static void record_from_info(int signal, const siginfo_t *info, struct cipc_signal_record *record) {
    memset(record, 0, sizeof *record);
    record->signal = signal;
    if (!info) return;
    record->code = info->si_code;
    record->pid = info->si_pid;
    record->uid = info->si_uid;
    record->value = info->si_value.sival_int;
}

// Catches a watched signal on a thread that had it unblocked: passes it to the
// library's reader through the pipe, then to the program's own handler, if any.
static void forward_handler(int signal, siginfo_t *info, void *context) {
    int saved = errno;
    struct cipc_signal_record record;
    record_from_info(signal, info, &record);
    record.caught = 1;
    int fd = atomic_load(&forward_fd);
    if (fd >= 0) (void)write(fd, &record, sizeof record);  // a full pipe loses the record (see Signals/README.md)
    if (is_function(&previous[signal])) call_handler(&previous[signal], signal, info, context);
    errno = saved;
}

static int action_is_ours(const struct sigaction *action) {
    return (action->sa_flags & SA_SIGINFO) && action->sa_sigaction == forward_handler;
}

// Saves `signal`'s action as the program's and installs the library's handler,
// unless the library's is in place already. Called with `watch_lock` held.
static int install_ours(int signal) {
    struct sigaction now;
    if (sigaction(signal, NULL, &now) != 0) return -1;
    if (action_is_ours(&now)) return 0;
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = forward_handler;
    sigfillset(&ours.sa_mask);
    ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    previous[signal] = now;
    return sigaction(signal, &ours, NULL);
}

int cipc_signal_watch(int signal, int fd) {
    if (signal <= 0 || signal >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&watch_lock);
    atomic_store(&forward_fd, fd);
    int rc = 0;
    if (!atomic_load(&watched[signal])) {
        rc = install_ours(signal);
        if (rc == 0) atomic_store(&watched[signal], 1);
    }
    pthread_mutex_unlock(&watch_lock);
    return rc;
}

int cipc_signal_keep_first(int signal) {
    if (signal <= 0 || signal >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&watch_lock);
    int rc = atomic_load(&watched[signal]) ? install_ours(signal) : 0;
    pthread_mutex_unlock(&watch_lock);
    return rc;
}

int cipc_signal_block_in_this_thread(int signal) {
    if (!blocked_here_used) {
        sigemptyset(&blocked_here);
        blocked_here_used = 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc == 0) sigaddset(&blocked_here, signal);
    return rc;
}

int cipc_signal_handler_is_ours(int signal) {
    struct sigaction now;
    if (sigaction(signal, NULL, &now) != 0) return 0;
    return action_is_ours(&now);
}

static int default_is_ignore(int signal) {
    return signal == SIGCHLD || signal == SIGCONT || signal == SIGURG || signal == SIGWINCH;
}

static int default_is_stop(int signal) { return signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU; }

void cipc_die_by_signal(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    syscall(SYS_tgkill, getpid(), gettid(), signal);
    for (;;) pause();
}

void cipc_signal_run_program_action(const struct cipc_signal_record *record, int watched_by_stream) {
    int signal = record->signal;
    if (signal <= 0 || signal >= NSIG) return;
    // A copy, taken under the lock `cipc_signal_keep_first` changes it under.
    struct sigaction copy;
    pthread_mutex_lock(&watch_lock);
    int rc = sigaction(signal, NULL, &copy);
    if (rc == 0 && action_is_ours(&copy)) copy = previous[signal];
    pthread_mutex_unlock(&watch_lock);
    if (rc != 0) return;
    const struct sigaction *action = &copy;
    if (is_function(action)) {
        if (record->caught) return;  // the handler that caught it called this one already
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = signal;
        info.si_code = record->code;
        info.si_pid = record->pid;
        info.si_uid = record->uid;
        info.si_value.sival_int = record->value;
        call_handler(action, signal, &info, NULL);
        return;
    }
    if (action->sa_handler == SIG_IGN || watched_by_stream || default_is_ignore(signal)) return;
    if (default_is_stop(signal)) {
        kill(getpid(), SIGSTOP);
        return;
    }
    cipc_die_by_signal(signal);
}

void cipc_signal_record_from_signalfd(const void *raw, struct cipc_signal_record *record) {
    const struct signalfd_siginfo *info = raw;
    memset(record, 0, sizeof *record);
    record->signal = (int32_t)info->ssi_signo;
    record->code = info->ssi_code;
    record->pid = (int32_t)info->ssi_pid;
    record->uid = info->ssi_uid;
    record->value = info->ssi_int;
}

void cipc_signals_forget_after_fork(void) {
    atomic_store(&forward_fd, -1);
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&watch_lock, &fresh, sizeof fresh);  // another thread of the parent may have held it
    for (int signal = 1; signal < NSIG; signal++) {
        if (atomic_load(&watched[signal])) {
            sigaction(signal, &previous[signal], NULL);
            atomic_store(&watched[signal], 0);
        }
    }
    if (blocked_here_used) {
        pthread_sigmask(SIG_UNBLOCK, &blocked_here, NULL);
        sigemptyset(&blocked_here);
    }
}

// Dispatch's handler for a signal that has a DispatchSource (libdispatch,
// src/event/event_epoll.c, `_dispatch_muxnote_signal_block_and_raise`): it
// re-raises the signal to Dispatch's manager thread, whose signalfd reads it.
// Dispatch installs no other signal handler.
static int is_dispatch_handler(const struct sigaction *action) {
    if (!is_function(action)) return 0;
    Dl_info info;
    void *address = (action->sa_flags & SA_SIGINFO) ? (void *)action->sa_sigaction : (void *)action->sa_handler;
    // The handler is a static function: known by the library it lives in.
    return dladdr(address, &info) && info.dli_fname && strstr(info.dli_fname, "libdispatch.so") != NULL;
}

int cipc_signal_dispatch_has_source(int signal) {
    if (signal <= 0 || signal >= NSIG) return 0;
    struct sigaction now;
    if (sigaction(signal, NULL, &now) != 0) return 0;
    if (action_is_ours(&now)) return atomic_load(&watched[signal]) && is_dispatch_handler(&previous[signal]);
    return is_dispatch_handler(&now);
}

const int cipc_f_setpipe_sz = F_SETPIPE_SZ;

int cipc_sigqueue(pid_t pid, int signal, int32_t value) {
    union sigval payload;
    memset(&payload, 0, sizeof payload);
    payload.sival_int = value;
    return sigqueue(pid, signal, payload);
}
