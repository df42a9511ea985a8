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
