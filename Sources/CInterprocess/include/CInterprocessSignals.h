// C shim declarations for watched signals (SPEC P8, M4; `Signals/` in the library).
// See CInterprocess.h for the rules.
#pragma once
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

/// One received signal, as the library's handler or its signalfd reader saw it.
struct cipc_signal_record {
    int32_t signal;  ///< 0: no signal (a nudge that wakes the reader)
    int32_t code;    ///< si_code: SI_USER, SI_QUEUE, SI_KERNEL, SI_TKILL…
    int32_t pid;     ///< the sender's pid (si_pid), 0 when the kernel sent it
    uint32_t uid;    ///< the sender's real uid (si_uid)
    int32_t value;   ///< si_value.sival_int: the sigqueue payload (SI_QUEUE, SI_MESGQ, SI_TIMER)
    int32_t caught;  ///< 1: taken by the library's handler on a thread that had it unblocked
};

/// Takes `signal` over, once: saves the action in place (the program's) and
/// installs the library's handler (SA_SIGINFO | SA_RESTART | SA_ONSTACK, the
/// watched signals masked while it runs). `forward_fd` is the non-blocking pipe
/// the handler writes a `cipc_signal_record` to for each signal it catches.
/// Returns 0, or -1 with errno (EINVAL from sigaction).
int cipc_signal_watch(int signal, int forward_fd);

/// Puts the library's handler back first for a watched `signal` when someone
/// installed another action after it: that action becomes the program's (called
/// after the streams have the signal). Nothing for a signal not watched, or when
/// the library's handler is in place. Returns 0, or -1 with errno.
int cipc_signal_keep_first(int signal);

/// Whether Dispatch has a signal source for `signal` in this process (its handler
/// is `signal`'s action, or the program's action the library's handler wraps):
/// Dispatch then reads `signal` from a signalfd of its own, and the two readers
/// would each take some of the signals.
int cipc_signal_dispatch_has_source(int signal);

/// Blocks `signal` in the calling thread (pthread_sigmask) and remembers that the
/// library did, so a forked child can undo it. Returns 0 or the error number.
int cipc_signal_block_in_this_thread(int signal);

/// Whether the library's handler is `signal`'s action now (1), or someone
/// replaced it (0).
int cipc_signal_handler_is_ours(int signal);

/// Runs the program's own action for a received signal the library read from its
/// signalfd (or, with `record->caught`, one its handler already passed to the
/// program's handler): the action in place now when the program replaced the
/// library's handler, else the one saved at `cipc_signal_watch`.
/// - a handler: called here (not for `caught` records) with a siginfo built from
///   the record and no ucontext;
/// - SIG_IGN: nothing;
/// - SIG_DFL: nothing when `watched` (a stream took the signal); otherwise the
///   default action: nothing for SIGCHLD, SIGCONT, SIGURG, SIGWINCH; stop for
///   SIGTSTP, SIGTTIN, SIGTTOU; else the process ends by that signal (this call
///   does not return).
void cipc_signal_run_program_action(const struct cipc_signal_record *record, int watched);

/// Ends the process by `signal`'s default action, as if it had not been caught:
/// restores SIG_DFL, unblocks it in the calling thread and sends it to that
/// thread (`tgkill`). Does not return.
void cipc_die_by_signal(int signal) __attribute__((noreturn));

/// A record from a `struct signalfd_siginfo` read from a signalfd.
void cipc_signal_record_from_signalfd(const void *info, struct cipc_signal_record *record);

/// In a forked child: gives every watched signal its saved action back, unblocks
/// the signals the library blocked in the forking thread, and stops forwarding.
/// Async-signal-safe.
void cipc_signals_forget_after_fork(void);

/// `sigqueue(pid, signal, {.sival_int = value})`.
int cipc_sigqueue(pid_t pid, int signal, int32_t value);

/// The flags of `eventfd` and `signalfd`, which Swift does not import (C enums
/// of anonymous type): EFD_SEMAPHORE, and O_NONBLOCK | O_CLOEXEC, which equal
/// EFD_NONBLOCK | EFD_CLOEXEC and SFD_NONBLOCK | SFD_CLOEXEC.
static const int cipc_efd_semaphore = 1;
static const int cipc_fd_nonblocking_cloexec = 04000 | 02000000;

/// `F_SETPIPE_SZ` (GNU; not visible to Swift's import of the C library).
extern const int cipc_f_setpipe_sz;
