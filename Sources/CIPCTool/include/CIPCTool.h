/// The C shim of the `ipc` tool: what only the command-line tool calls and Swift
/// cannot (variadic functions, GNU extensions behind _GNU_SOURCE, signal
/// handlers, stdio's `stdout`). The library's own shim is CInterprocess; nothing
/// here is part of the library.
#ifndef C_IPC_TOOL_H
#define C_IPC_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// MARK: CPU placement (`ipc bench`)

/// The CPUs this process may run on (`sched_getaffinity`), in increasing order:
/// writes at most `capacity` numbers to `out` and returns how many it found
/// (or -1 with errno set).
int cipc_allowed_cpus(int *out, int capacity);

/// Pins the calling thread to `cpu` (`sched_setaffinity` with one CPU).
int cipc_sched_pin(int cpu);

// MARK: signals

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: this process is killed when the thread that
/// spawned it exits. Variadic in C.
int cipc_kill_when_parent_dies(void);

/// `sigaction(signal, SIG_DFL)`: the default action back (e.g. for SIGQUIT,
/// which the Swift runtime's crash handler takes over).
int cipc_restore_default_action(int signal);

// MARK: standard output

/// Makes stdout a stream (`fopencookie`, buffered as before) whose writes keep
/// the errno of the first that fails, for `cipc_flush_stdout`. 0, or -1 (stdout
/// is then left as it was).
int cipc_keep_stdout_errors(void);

/// Flushes stdio's stdout and says whether every write to it succeeded: 0, the
/// errno of the first failed write (kept when `cipc_keep_stdout_errors` ran), or
/// -1 when an earlier write failed and its errno is unknown; clears the error.
/// `fflush`, `ferror` (Swift 6 cannot name `stdout`).
int cipc_flush_stdout(void);

/// `pidfd_open(pid, 0)` (`ipc door stop` waits on it for a server to end).
int cipc_tool_pidfd_open(int pid);

#endif
