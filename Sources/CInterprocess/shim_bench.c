#define _GNU_SOURCE
#include "CInterprocessBench.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>

int cipc_allowed_cpus(int *out, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < capacity; cpu++)
        if (CPU_ISSET(cpu, &set)) out[found++] = cpu;
    return found;
}

int cipc_kill_when_parent_dies(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL); }
