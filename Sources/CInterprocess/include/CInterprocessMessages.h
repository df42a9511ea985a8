// C shim declarations for the Messages area (see CInterprocess.h for the rules).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <mqueue.h>
#include <signal.h>

// MARK: POSIX message queues

/// `mq_open` is variadic: the mode and the attributes are passed only with
/// `O_CREAT`. `attributes` may be NULL (the kernel's defaults).
mqd_t cipc_mq_open(const char *name, int flags, mode_t mode, const struct mq_attr *attributes);

/// `mq_notify` with `SIGEV_SIGNAL`: `signo` is sent with `si_value.sival_int = value`.
int cipc_mq_notify_signal(mqd_t queue, int signo, int value);

/// The function a thread notification calls, with the token it was registered with.
typedef void (*cipc_mq_notify_callback)(uint64_t token);

/// `mq_notify` with `SIGEV_THREAD`: glibc starts a thread that calls
/// `callback(token)`. (The `sigevent` union and `union sigval` stay on the C side.)
int cipc_mq_notify_thread(mqd_t queue, cipc_mq_notify_callback callback, uint64_t token);

/// `mq_notify(queue, NULL)`: removes this process's registration.
int cipc_mq_notify_remove(mqd_t queue);
