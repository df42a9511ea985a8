// C shim declarations for the Bench area (see CInterprocess.h for the rules).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The CPUs this process may run on (`sched_getaffinity`), in increasing order:
/// writes at most `capacity` numbers to `out` and returns how many it found
/// (or -1 with errno set).
int cipc_allowed_cpus(int *out, int capacity);

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: this process is killed when the thread that
/// spawned it exits. Variadic in C.
int cipc_kill_when_parent_dies(void);

/// Installs, for each of `signals`, a handler (`sigaction`, SA_RESTART) that
/// writes the signal's number as one byte to `pipe_writer` — all it does, so a
/// thread reading the pipe can act on the signal. Returns -1 with errno set.
int cipc_forward_signals(int pipe_writer, const int *signals, int count);

/// Ends the process by `signal` as if it had never been caught: restores the
/// default action, unblocks it in this thread and sends it to the process.
/// Does not return.
void cipc_die_by_signal(int signal) __attribute__((noreturn));

/// `sigaction(signal, SIG_DFL)`: the default action back (e.g. for SIGQUIT,
/// which the Swift runtime's crash handler takes over).
int cipc_restore_default_action(int signal);
